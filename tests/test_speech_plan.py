"""Spoken interviews, issue 14: the plan's answer_mode and the speech settings."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings
from server.errors import ConfigurationError
from tests.conftest import job_payload, signups_on


def test_speech_settings_default_to_the_interviewers_server() -> None:
    settings = Settings.from_env(
        {"OPENAI_API_KEY": "sk-chat", "OPENAI_BASE_URL": "http://chat.test/v1"}, dotenv=False
    )
    assert settings.speech_base_url == "http://chat.test/v1"
    assert settings.speech_api_key == "sk-chat"
    assert settings.stt_model is None and not settings.speech_configured
    assert settings.tts_model is None and settings.tts_voice == "alloy"
    assert settings.speech_end_silence_s == 1.2
    assert settings.stt_live is True  # a live transcript unless turned off


def test_speech_settings_of_their_own() -> None:
    settings = Settings.from_env(
        {
            "OPENAI_API_KEY": "sk-chat",
            "OPENHIRE_SPEECH_BASE_URL": "http://speech.test/v1",
            "OPENHIRE_SPEECH_API_KEY": "sk-speech",
            "OPENHIRE_STT_MODEL": "whisper-1",
            "OPENHIRE_TTS_MODEL": "tts-1",
            "OPENHIRE_TTS_VOICE": "nova",
            "OPENHIRE_SPEECH_END_SILENCE": "0.8",
            "OPENHIRE_SPEECH_MIN_ANSWER": "0.5",
            "OPENHIRE_SPEECH_MAX_ANSWER": "120",
            "OPENHIRE_STT_LIVE": "0",
        },
        dotenv=False,
    )
    assert settings.speech_configured
    assert (settings.speech_base_url, settings.speech_api_key) == (
        "http://speech.test/v1",
        "sk-speech",
    )
    assert (settings.stt_model, settings.tts_model, settings.tts_voice) == (
        "whisper-1",
        "tts-1",
        "nova",
    )
    assert (
        settings.speech_end_silence_s,
        settings.speech_min_answer_s,
        settings.speech_max_answer_s,
    ) == (0.8, 0.5, 120.0)
    assert settings.stt_live is False
    assert "sk-speech" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"OPENHIRE_STT_MODEL": "whisper-1"}, "OPENHIRE_SPEECH_API_KEY"),
        ({"OPENHIRE_TTS_MODEL": "tts-1"}, "OPENHIRE_SPEECH_API_KEY"),
        ({"OPENHIRE_SPEECH_END_SILENCE": "0.1"}, "OPENHIRE_SPEECH_END_SILENCE"),
        (
            {"OPENHIRE_SPEECH_MIN_ANSWER": "10", "OPENHIRE_SPEECH_MAX_ANSWER": "5"},
            "OPENHIRE_SPEECH_MIN_ANSWER",
        ),
        ({"OPENHIRE_VAD_AGGRESSIVENESS": "4"}, "OPENHIRE_VAD_AGGRESSIVENESS"),
        ({"OPENHIRE_STT_ATTEMPTS": "0"}, "OPENHIRE_STT_ATTEMPTS"),
        ({"OPENHIRE_STT_LIVE": "sometimes"}, "OPENHIRE_STT_LIVE"),
    ],
)
def test_bad_speech_settings_are_refused_by_name(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigurationError, match=names):
        Settings.from_env(env, dotenv=False)


def test_a_plan_answers_in_text_by_default(signup: Any) -> None:
    owner, candidate = signup("recruiter"), signup("candidate")
    job = owner.client.post("/jobs", json=job_payload()).json()
    assert job["interview_plan"]["answer_mode"] == "text"
    listed = candidate.client.get(f"/jobs/{job['id']}").json()
    assert listed["interview"]["answer_mode"] == "text"


@pytest.mark.parametrize("mode", ["voice", "either"])
def test_a_spoken_plan_without_speech_is_refused_saying_what_to_set(signup: Any, mode: str) -> None:
    owner = signup("recruiter")
    refused = owner.client.post("/jobs", json=job_payload(interview_plan={"answer_mode": mode}))
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"]["code"] == "speech_not_configured"
    assert "OPENHIRE_STT_MODEL" in body["error"]["message"]
    assert body["error"]["details"][0]["loc"] == ["body", "interview_plan", "answer_mode"]
    # Nothing stored: the recruiter has no job.
    mine = owner.client.get("/jobs", params={"recruiter_id": owner.id}).json()
    assert mine["items"] == []
    # A typed job changed to a spoken one is refused too, and stays as it was.
    job = owner.client.post("/jobs", json=job_payload()).json()
    refused = owner.client.put(
        f"/jobs/{job['id']}",
        json=job_payload(title="Changed", interview_plan={"answer_mode": mode}),
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "speech_not_configured"
    again = owner.client.get(f"/jobs/{job['id']}").json()
    assert again["title"] == job["title"] and again["interview_plan"]["answer_mode"] == "text"


def test_an_unknown_answer_mode_is_a_validation_error(signup: Any) -> None:
    owner = signup("recruiter")
    refused = owner.client.post("/jobs", json=job_payload(interview_plan={"answer_mode": "video"}))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_failed"


@pytest.mark.slow
def test_a_server_with_speech_takes_spoken_plans(make_server: Any, tmp_path: Path) -> None:
    srv = make_server(
        OPENHIRE_STT_MODEL="whisper-1",
        OPENHIRE_SPEECH_API_KEY="sk-test",
        OPENHIRE_SPEECH_BASE_URL="http://127.0.0.1:9/v1",
    )
    srv.start()
    signups = signups_on(srv)
    signup = next(signups)
    owner, candidate = signup("recruiter"), signup("candidate")
    for mode in ("voice", "either"):
        made = owner.client.post("/jobs", json=job_payload(interview_plan={"answer_mode": mode}))
        assert made.status_code == 201, made.text
        assert made.json()["interview_plan"]["answer_mode"] == mode
        listed = candidate.client.get(f"/jobs/{made.json()['id']}").json()
        assert listed["interview"]["answer_mode"] == mode
    with contextlib.suppress(StopIteration):
        next(signups)  # closes the accounts' clients
