"""Questions spoken as they stream: one live interview's questions, cut into pieces at sentence
ends, each piece synthesised (server/speech/synthesize.py) as soon as it is complete, and played
on the server's audio track (server/speech/voice_track.py) in order, back to back.

``QuestionSpeaker`` takes the question as the candidate sees it: every ``question.delta`` and
then ``question.done``. A piece is cut where a sentence ends (``.``, ``!``, ``?``, ``…``,
closing quotes and brackets included, once the space after it has arrived) or at a line
break; a sentence longer than ``MAX_PIECE`` characters is cut before that, after the last
comma, semicolon or colon, else the last space. What is left when the question is done is the
last piece. A question that comes whole (a recruiter's, the scripted interviewer's) is cut the
same way at once.

Pieces are requested in order, at most ``concurrency`` at once (the rest wait their turn), and
played in order by one player task: piece n goes on the track once it has arrived and piece
n-1 is queued there, so the track plays them without a gap (as long as synthesis keeps ahead of
the playing) and never two at once. A piece whose synthesis fails for good is skipped: the
pieces after it still play, and ``on_skipped`` is told (the live interview sends the candidate
``question.unspoken``); the text is shown whatever happens.

``stop`` (barge-in: the candidate started speaking; the interview ended or moved) cancels every
request under way or waiting and silences the track at once; a new question does the same to
the previous one. A stopped question is not spoken again, even if its ``question.done`` comes
again (a reconnect, a refused commit).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from server.errors import SpeechError
from server.speech.voice_track import QuestionVoice, upsample_24k

log = structlog.get_logger(__name__)

# Characters of one piece at most: long enough for most sentences (one request each), short
# enough that a long sentence does not hold back the first audio.
MAX_PIECE = 200
# A sentence's end: its punctuation (with closing quotes or brackets) and the whitespace after
# it, or a line break.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*\s+|\n\s*")
_SOFT_BREAK = re.compile(r"[,;:]\s+")

OnSkipped = Callable[[str, str, str], None]  # question_id, the piece's text, why


class Speaks(Protocol):
    """What the speaker needs of a synthesizer (server.speech.synthesize.Synthesizer)."""

    async def speak(self, text: str) -> bytes: ...


def cut(text: str, *, final: bool = False) -> tuple[list[str], str]:
    """``text`` cut into whole pieces, and what is left to wait for more (all of it a piece
    when ``final``). Pieces carry no surrounding whitespace; ones with nothing to say (only
    punctuation) are dropped."""
    pieces: list[str] = []
    rest = text
    while rest:
        end = _SENTENCE_END.search(rest)
        if end is not None and end.start() < MAX_PIECE:
            piece, rest = rest[: end.end()], rest[end.end() :]
        elif len(rest) > MAX_PIECE:
            head = rest[:MAX_PIECE]
            soft = [m.end() for m in _SOFT_BREAK.finditer(head)]
            at = soft[-1] if soft else head.rfind(" ") + 1 or MAX_PIECE
            piece, rest = rest[:at], rest[at:]
        elif final:
            piece, rest = rest, ""
        else:
            break
        if any(c.isalnum() for c in piece):
            pieces.append(piece.strip())
    return pieces, rest


class QuestionSpeaker:
    def __init__(
        self,
        synthesizer: Speaks,
        track: QuestionVoice,
        *,
        on_skipped: OnSkipped,
        concurrency: int = 2,
        logger: Any = None,
    ) -> None:
        self._synthesizer = synthesizer
        self._track = track
        self._on_skipped = on_skipped
        self._slots = asyncio.Semaphore(concurrency)
        self._log = logger if logger is not None else log
        self._question_id: str | None = None
        self._open = False  # still taking text for the current question
        self._buffer = ""  # streamed, not cut yet
        self._streamed = ""  # all that streamed of the current question
        self._pieces: asyncio.Queue[tuple[str, asyncio.Task[bytes]] | None] | None = None
        self._requests: set[asyncio.Task[bytes]] = set()
        self._player: asyncio.Task[None] | None = None
        self._pending = 0

    @property
    def question_id(self) -> str | None:
        return self._question_id

    @property
    def pending(self) -> int:
        """Pieces of the current question cut but not yet on the track (nor skipped)."""
        return self._pending

    def delta(self, question_id: str, text: str) -> None:
        """A piece of a question's text as it streams."""
        if question_id != self._question_id:
            self._begin(question_id)
        if not self._open:
            return
        self._streamed += text
        pieces, self._buffer = cut(self._buffer + text)
        for piece in pieces:
            self._request(piece)

    def done(self, question_id: str, text: str) -> None:
        """The whole question: what has not been cut yet is its last piece."""
        if question_id != self._question_id:
            self._begin(question_id)
        if not self._open:
            return
        streamed = self._streamed.strip()
        if text.startswith(streamed):
            # Whatever did not come as a delta (all of it, for a question that came whole).
            self._buffer += text[len(streamed) :]
        pieces, _ = cut(self._buffer, final=True)
        for piece in pieces:
            self._request(piece)
        self._open = False
        self._buffer = ""
        if self._pieces is not None:
            self._pieces.put_nowait(None)

    def stop(self) -> None:
        """Silence now: the track's audio, every request under way or waiting. The current
        question takes no more text."""
        self._open = False
        self._buffer = ""
        self._streamed = ""
        self._pieces = None
        self._pending = 0
        if self._player is not None:
            self._player.cancel()
            self._player = None
        for task in list(self._requests):
            task.cancel()
        self._track.clear()

    def _begin(self, question_id: str) -> None:
        self.stop()
        self._question_id = question_id
        self._open = True
        self._pieces = asyncio.Queue()
        self._player = asyncio.create_task(self._play(question_id, self._pieces))

    def _request(self, text: str) -> None:
        assert self._pieces is not None
        task = asyncio.create_task(self._synthesize(text))
        self._requests.add(task)
        task.add_done_callback(self._finished)
        self._pending += 1
        self._pieces.put_nowait((text, task))

    def _finished(self, task: asyncio.Task[bytes]) -> None:
        self._requests.discard(task)
        if not task.cancelled():
            task.exception()  # a failure the stopped player will not read is not an error

    async def _synthesize(self, text: str) -> bytes:
        async with self._slots:
            return await self._synthesizer.speak(text)

    async def _play(
        self, question_id: str, pieces: asyncio.Queue[tuple[str, asyncio.Task[bytes]] | None]
    ) -> None:
        began = time.perf_counter()
        played = 0
        while (item := await pieces.get()) is not None:
            text, task = item
            try:
                pcm = await task
            except Exception as exc:
                # SpeechError: the speech API failed for good; anything else is a bug here,
                # and costs this piece only.
                if isinstance(exc, SpeechError):
                    self._log.warning(
                        "speech.question_piece_skipped", question_id=question_id, error=str(exc)
                    )
                else:
                    self._log.exception("speech.question_piece_crashed", question_id=question_id)
                self._pending -= 1
                self._on_skipped(question_id, text, str(exc))
                continue
            self._pending -= 1
            self._track.say(upsample_24k(pcm))
            if played == 0:
                self._log.info(
                    "speech.question_first_audio",
                    question_id=question_id,
                    seconds=round(time.perf_counter() - began, 3),
                )
            played += 1
