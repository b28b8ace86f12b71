"""The AI interviewer: asks the questions of a live interview and scores it at the end.

Two implementations behind one interface (:class:`Interviewer`): ``ScriptedInterviewer``, the
deterministic default that needs no network, and ``OpenAIInterviewer`` (in
``server.interviewer.openai``, imported only when configured), chosen by ``OPENAI_API_KEY``.
"""

from __future__ import annotations

from server.config import Settings
from server.interviewer.base import (
    Criterion,
    CriterionScore,
    Evaluation,
    Evidence,
    Interviewer,
    InterviewerError,
    InterviewerFailed,
    InterviewerUnavailable,
    JobBrief,
    ProctoringGap,
    ProctoringSummary,
    QuestionRequest,
    Turn,
)
from server.interviewer.scripted import ScriptedInterviewer

__all__ = [
    "Criterion",
    "CriterionScore",
    "Evaluation",
    "Evidence",
    "Interviewer",
    "InterviewerError",
    "InterviewerFailed",
    "InterviewerUnavailable",
    "JobBrief",
    "ProctoringGap",
    "ProctoringSummary",
    "QuestionRequest",
    "ScriptedInterviewer",
    "Turn",
    "create_interviewer",
]


def create_interviewer(settings: Settings) -> Interviewer:
    """The OpenAI-backed interviewer when an API key is configured, else the scripted one."""
    if settings.openai_api_key:
        # Imported here: the openai package takes most of a second to import.
        from server.interviewer.openai import OpenAIInterviewer

        return OpenAIInterviewer.from_settings(settings)
    return ScriptedInterviewer(scoring_processes=settings.scoring_processes)
