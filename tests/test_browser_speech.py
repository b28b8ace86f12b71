"""Spoken interviews in the browser app (issue 14), in Debian's Chromium (tests/test_browser.py
says how) against a real server whose speech-to-text is the loopback stand-in (tests/
fake_speech.py: PocketSphinx with a grammar of the test sentences). Chromium's fake microphone
plays an espeak-ng sentence followed by silence, over and over; the room shows what is heard,
the answer is committed as a spoken one, and the review plays its audio. No console error, no
CSP violation, no accessibility violation (open_session checks)."""

from __future__ import annotations

import contextlib
import re
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    Account,
    DatabaseBackend,
    ServerProcess,
    job_payload,
    running_server,
    signups_on,
)
from tests.fake_speech import Failure, FakeSpeech, serve_fake_speech
from tests.fake_voice import FakeVoice
from tests.speech_audio import SENTENCES, require_espeak, silence, spoken
from tests.test_browser import (  # noqa: F401 - fixtures
    Session,
    all_events,
    browser,
    log_in,
    open_session,
    playwright,
    schedule_by_api,
    shoot,
    with_fake_devices,
)

with contextlib.suppress(ImportError):
    from playwright.sync_api import Browser, Page, Playwright, expect

pytestmark = [pytest.mark.slow, pytest.mark.one_backend]

RATE = 48000
SENTENCE = SENTENCES[0]
# Long enough for the room to start and the first question to arrive between two sentences.
PAUSE_S = 14.0
# Between the two sentences of one answer: shorter than the silence that ends an answer.
SENTENCE_GAP_S = 0.6


def write_speech(path: Path, *sentences: str) -> None:
    """The sentence (or sentences, a short pause between them), then silence: Chromium loops
    the file, so the answer comes back every few seconds."""
    pcm = silence(0.3, RATE)
    for i, sentence in enumerate(sentences or (SENTENCE,)):
        pcm += (silence(SENTENCE_GAP_S, RATE) if i else b"") + spoken(sentence, RATE)
    pcm += silence(PAUSE_S, RATE)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)


def record(page: Page, snapshot: str) -> None:
    """Keep each distinct value of ``snapshot`` (a JS function) as the page changes, in
    ``window.__seen``."""
    page.evaluate(
        """() => {
          const take = SNAPSHOT;
          window.__seen = [];
          const keep = () => {
            const now = take();
            const last = window.__seen[window.__seen.length - 1];
            if (JSON.stringify(now) !== JSON.stringify(last)) window.__seen.push(now);
          };
          keep();
          new MutationObserver(keep).observe(document.body,
            { subtree: true, childList: true, characterData: true, attributes: true });
        }""".replace("SNAPSHOT", snapshot)
    )


def wait_for_the_end_of_the_sentence(page: Page, name: str, quiet_ms: int = 800) -> None:
    """Until the microphone's meter has been loud and then quiet for ``quiet_ms``."""
    page.wait_for_function(
        """([name, quiet]) => {
          const level = Number(document.getElementById('mic-level')?.value || 0);
          const now = performance.now();
          window.__loud ||= {};
          if (level > 0.3) window.__loud[name] = now;
          return window.__loud[name] !== undefined && now - window.__loud[name] > quiet;
        }""",
        arg=[name, quiet_ms],
        timeout=40_000,
    )


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSpeech]:
    require_espeak()
    with serve_fake_speech() as fake:
        yield fake


def chromium_saying(
    playwright: Playwright,  # noqa: F811
    folder: Path,
    *sentences: str,
) -> contextlib.AbstractContextManager[Browser]:
    """Chromium whose fake microphone plays ``sentences`` as ``write_speech`` writes them into
    ``folder`` (and the default fake camera)."""
    require_espeak()
    write_speech(folder / "speech.wav", *sentences)
    return with_fake_devices(playwright, microphone=folder / "speech.wav")


@pytest.fixture(scope="module")
def speaking_browser(
    playwright: Playwright,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Browser]:
    """Chromium whose fake microphone speaks the sentence."""
    with chromium_saying(playwright, tmp_path_factory.mktemp("fake-speech")) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def two_sentence_browser(
    playwright: Playwright,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Browser]:
    """Chromium whose fake microphone answers in two sentences, a short pause between them."""
    folder = tmp_path_factory.mktemp("fake-speech-two")
    with chromium_saying(playwright, folder, SENTENCES[0], SENTENCES[3]) as chromium:
        yield chromium


def speaking_server(
    tmp_path_factory: pytest.TempPathFactory,
    database_backend: DatabaseBackend,
    name: str,
    stand_in: FakeSpeech,
    **env: str,
) -> contextlib.AbstractContextManager[ServerProcess]:
    """A server whose speech goes to ``stand_in`` (whisper-1 transcribes; ``env`` adds)."""
    return running_server(
        database_backend,
        tmp_path_factory.mktemp(name) / "data",
        OPENHIRE_STT_MODEL="whisper-1",
        OPENHIRE_SPEECH_API_KEY="sk-test",
        OPENHIRE_SPEECH_BASE_URL=stand_in.base_url,
        **env,
    )


@pytest.fixture(scope="module")
def speech_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend, fake: FakeSpeech
) -> Iterator[ServerProcess]:
    with speaking_server(tmp_path_factory, database_backend, "browser-speech", fake) as srv:
        yield srv


@pytest.fixture(scope="module")
def tts_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend, fake: FakeSpeech
) -> Iterator[ServerProcess]:
    """The same, speaking the questions itself (the stand-in's audio.speech: espeak-ng)."""
    with speaking_server(
        tmp_path_factory, database_backend, "browser-tts", fake, OPENHIRE_TTS_MODEL="tts-1"
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def tones() -> Iterator[FakeVoice]:
    """A speech stand-in whose audio.speech answers tones, and fails when a test plans it
    (tests/fake_voice.py); its transcriptions are the same as ``fake``'s."""
    require_espeak()
    with serve_fake_speech(fake=FakeVoice()) as fake:
        assert isinstance(fake, FakeVoice)
        yield fake


@pytest.fixture(scope="module")
def tones_server(
    tmp_path_factory: pytest.TempPathFactory, database_backend: DatabaseBackend, tones: FakeVoice
) -> Iterator[ServerProcess]:
    """A server speaking the questions itself through ``tones``."""
    with speaking_server(
        tmp_path_factory, database_backend, "browser-tones", tones, OPENHIRE_TTS_MODEL="tts-1"
    ) as srv:
        yield srv


@pytest.fixture
def speech_signup(speech_server: ServerProcess) -> Iterator[Any]:
    yield from signups_on(speech_server)


def test_a_spoken_answer_heard_committed_and_played_back(
    speech_server: ServerProcess,
    speaking_browser: Browser,
    speech_signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    recruiter_account, candidate_account = speech_signup("recruiter"), speech_signup("candidate")
    _job, interview_id = schedule_by_api(
        recruiter_account, candidate_account, question_count=1, answer_mode="voice"
    )
    # The recruiter watches live; what the live view shows of the answer being heard is
    # recorded as it comes (it is replaced by the committed answer a moment later).
    recruiter = open_session(on=speaking_browser, base_url=speech_server.url)
    r = recruiter.page
    log_in(r, recruiter_account)
    r.goto(f"/#/interviews/{interview_id}/watch")
    expect(r.get_by_text("Waiting for the candidate to join")).to_be_visible()
    record(r, "() => [...document.querySelectorAll('.hearing')].map((p) => p.textContent)")
    candidate = open_session(on=speaking_browser, base_url=speech_server.url)
    c = candidate.page
    log_in(c, candidate_account)
    c.goto(f"/#/interviews/{interview_id}/room")
    expect(c.get_by_text("Answer aloud: each question is spoken and shown")).to_be_visible()
    expect(c.get_by_text("Your camera works, and so does your microphone")).to_be_visible()
    # Start just after the sentence has played, so that none is heard before the pause below.
    wait_for_the_end_of_the_sentence(c, "check")
    c.get_by_role("button", name="Start the interview").click()
    expect(c.locator("#media-status")).to_have_attribute("data-media", "live")
    # A voice interview: no typed box, the room listens.
    listening = c.locator("#listening")
    expect(listening).to_have_attribute("data-state", "listening")
    expect(c.locator("#answer")).to_be_hidden()
    done = c.get_by_role("button", name="I'm done")
    expect(done).to_be_enabled()
    # No speech model on the server: nothing comes on its track, so the browser speaks the
    # question (speechSynthesis).
    expect(c.locator("#question-voice")).to_have_attribute("data-speaking", "browser")
    # Nothing said yet: "I'm done" is refused (no_speech) and the answer still waits.
    done.click()
    expect(listening).to_have_text("Nothing was heard yet: speak your answer first.")
    expect(done).to_be_enabled()
    # Pause (answer.pause): nothing is heard until the candidate resumes, here just after the
    # microphone has said the sentence once more, so that the next one is heard whole.
    c.get_by_role("button", name="Pause").click()
    expect(listening).to_have_attribute("data-state", "paused")
    expect(done).to_be_disabled()
    resume = c.get_by_role("button", name="Resume")
    expect(resume).to_have_attribute("aria-pressed", "true")
    wait_for_the_end_of_the_sentence(c, "paused")
    resume.click()
    expect(listening).to_have_attribute("data-state", "listening")
    shoot(c, "interview-room-voice")
    # The sentence comes round: heard, transcribed, shown, committed (the room gives way to
    # the end screen a moment after, so what it showed is recorded as it changes).
    record(
        c,
        """() => [document.getElementById('listening')?.dataset.state,
                  document.getElementById('transcript')?.textContent,
                  [...document.querySelectorAll('ol.turns li')].map((li) => li.dataset.status
                    + ':' + li.querySelector('.a').textContent).join(',')]""",
    )
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible(timeout=40_000)
    shown = c.evaluate("() => window.__seen")
    assert ["hearing", "", ""] in shown, shown
    assert ["done", SENTENCE, f"sending:{SENTENCE}"] in shown, shown
    assert ["done", SENTENCE, f"saved:{SENTENCE}"] in shown, shown
    # The live view showed the answer as it was heard, then the committed spoken answer. (Its
    # socket is not the candidate's: what it shows may come after the candidate's end screen.)
    deadline = time.monotonic() + 30
    while [SENTENCE] not in r.evaluate("() => window.__seen") and time.monotonic() < deadline:
        r.wait_for_timeout(100)
    assert [SENTENCE] in r.evaluate("() => window.__seen"), r.evaluate("() => window.__seen")
    expect(r.get_by_role("list", name="Transcript so far")).to_contain_text(SENTENCE)
    expect(r.get_by_text(re.compile("^Spoken answer · "))).to_be_visible()

    events = all_events(recruiter_account, interview_id)
    answers = [e["data"] for e in events if e["kind"] == "answer"]
    assert len(answers) == 1, answers
    answer = answers[0]
    assert answer["source"] == "voice" and answer["text"] == SENTENCE, answer
    assert answer["blob_key"] and answer["transcribed"] is True, answer

    # The review plays the answer's audio.
    r.goto(f"/#/interviews/{interview_id}/review")
    turn = r.locator("li.turn").filter(has_text=SENTENCE)
    expect(turn.locator(".spoken")).to_have_text("Spoken answer")
    turn.get_by_role("button", name="Play the spoken answer").click()
    r.wait_for_function(
        "() => { const a = document.querySelector('audio.spoken-audio');"
        " return a && a.currentTime > 0.2 && !a.paused; }"
    )
    shoot(r, "review-spoken-answer")


def test_an_answer_cut_by_a_reload_is_offered_to_continue_or_start_again(
    speech_server: ServerProcess,
    speaking_browser: Browser,
    speech_signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    """The page reloads while the candidate speaks (the socket and the peer go): on rejoining,
    the room offers the answer kept by the server; starting it again, the answer is only the
    sentence said afterwards (docs/protocol.md, section 9, "Reconnects")."""
    recruiter_account, candidate_account = speech_signup("recruiter"), speech_signup("candidate")
    _job, interview_id = schedule_by_api(
        recruiter_account, candidate_account, question_count=1, answer_mode="voice"
    )
    c = open_session(on=speaking_browser, base_url=speech_server.url).page
    log_in(c, candidate_account)
    c.goto(f"/#/interviews/{interview_id}/room")
    wait_for_the_end_of_the_sentence(c, "check")
    c.get_by_role("button", name="Start the interview").click()
    listening = c.locator("#listening")
    expect(listening).to_have_attribute("data-state", "listening")
    expect(c.locator("#answer-resume")).to_be_hidden()
    # The sentence comes round: heard, and cut off mid-sentence by a reload.
    expect(listening).to_have_attribute("data-state", "hearing", timeout=30_000)
    c.reload()
    rejoin = c.get_by_role("button", name="Rejoin the interview")
    expect(rejoin).to_be_enabled()
    wait_for_the_end_of_the_sentence(c, "rejoin")
    rejoin.click()
    choice = c.locator("#answer-resume")
    expect(choice).to_contain_text("Your connection dropped while you were answering")
    expect(c.get_by_role("button", name="Continue your answer")).to_be_visible()
    shoot(c, "interview-room-answer-in-progress")
    c.get_by_role("button", name="Start it again").click()
    expect(choice).to_be_hidden()
    expect(listening).to_have_text("Listening… start your answer again.")
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible(timeout=40_000)
    events = all_events(recruiter_account, interview_id)
    answers = [e["data"] for e in events if e["kind"] == "answer"]
    assert [a["text"] for a in answers] == [SENTENCE], answers
    # Two starts: the answer cut off, and the one said again.
    assert len([e for e in events if e["kind"] == "answer.started"]) == 2, events


def test_the_job_editor_sets_the_answer_mode(
    speech_server: ServerProcess,
    server: ServerProcess,
    speech_signup: Callable[..., Account],
    signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    """Spoken answers chosen in the editor: saved where the server has speech-to-text; refused
    at the field (422 speech_not_configured) where it has not, the job untouched."""
    for srv, account, mode, works in (
        (speech_server, speech_signup("recruiter"), "either", True),
        (server, signup("recruiter"), "voice", False),
    ):
        job = account.client.post("/jobs", json=job_payload(title="Support Engineer")).json()
        page = open_session(base_url=srv.url).page
        log_in(page, account)
        page.goto(f"/#/jobs/{job['id']}/edit")
        choice = page.get_by_label("How answers are given")
        expect(choice).to_have_value("text")
        choice.select_option(mode)
        page.get_by_role("button", name="Save changes").click()
        if works:
            page.wait_for_function("() => !location.hash.endsWith('/edit')")
            expect(page.get_by_role("heading", name="Support Engineer", exact=True)).to_be_visible()
        else:
            expect(page.get_by_text("This server cannot take spoken answers")).to_be_visible()
            expect(choice).to_be_focused()
        stored = account.client.get(f"/jobs/{job['id']}").json()
        assert stored["interview_plan"]["answer_mode"] == (mode if works else "text"), stored


def test_the_question_spoken_by_the_server_stops_when_the_candidate_speaks(
    tts_server: ServerProcess,
    speaking_browser: Browser,
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    signup = signups_on(tts_server)
    make = next(signup)
    recruiter_account, candidate_account = make("recruiter"), make("candidate")
    _job, interview_id = schedule_by_api(
        recruiter_account, candidate_account, question_count=1, answer_mode="voice"
    )
    c = open_session(on=speaking_browser, base_url=tts_server.url).page
    log_in(c, candidate_account)
    c.goto(f"/#/interviews/{interview_id}/room")
    wait_for_the_end_of_the_sentence(c, "check")
    c.get_by_role("button", name="Start the interview").click()
    expect(c.locator("#listening")).to_have_attribute("data-state", "listening")
    # The question comes on the server's track, and plays (the browser does not speak it).
    voice = c.locator("#question-voice")
    expect(voice).to_have_attribute("data-speaking", "server")
    assert c.evaluate("() => document.getElementById('question-voice').paused") is False
    assert c.evaluate("() => document.getElementById('question-voice').muted") is False
    # The microphone's sentence comes round: barge-in, the question's sound stops.
    expect(c.locator("#listening")).to_have_attribute("data-state", "hearing", timeout=30_000)
    expect(voice).not_to_have_attribute("data-speaking", re.compile("."))
    assert c.evaluate("() => document.getElementById('question-voice').muted") is True
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible(timeout=40_000)
    with contextlib.suppress(StopIteration):
        next(signup)


FIRST = "Tell us about a service you ran in production."
QUESTION = f"{FIRST} What kept it healthy? And what would you change now?"


def test_a_sentence_the_server_cannot_speak_is_spoken_by_the_browser_from_there_on(
    tones_server: ServerProcess,
    tones: FakeVoice,
    speaking_browser: Browser,
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    """The speech API refuses the first of the question's three sentences for good: the server
    skips it and says so (question.unspoken). The room mutes the server's track for the rest of
    the question (the other two still come on it) and speaks the question itself from that
    sentence on; the text is shown whole. The candidate's speaking stops the browser's voice
    too."""
    tones.reset()
    tones.refuse(FIRST, Failure(400, "invalid_value", "The input could not be spoken."))
    signup = signups_on(tones_server)
    make = next(signup)
    recruiter_account, candidate_account = make("recruiter"), make("candidate")
    _job, interview_id = schedule_by_api(
        recruiter_account,
        candidate_account,
        question_count=1,
        answer_mode="voice",
        custom_questions=[QUESTION],
    )
    c = open_session(on=speaking_browser, base_url=tones_server.url).page
    # What the browser is asked to speak, kept.
    c.add_init_script(
        """(() => {
          window.__said = [];
          const speak = speechSynthesis.speak.bind(speechSynthesis);
          speechSynthesis.speak = (utterance) => {
            window.__said.push(utterance.text);
            speak(utterance);
          };
        })()"""
    )
    log_in(c, candidate_account)
    c.goto(f"/#/interviews/{interview_id}/room")
    wait_for_the_end_of_the_sentence(c, "check")
    c.get_by_role("button", name="Start the interview").click()
    expect(c.locator("#listening")).to_have_attribute("data-state", "listening")
    voice = c.locator("#question-voice")
    expect(voice).to_have_attribute("data-speaking", "browser")
    assert c.evaluate("() => document.getElementById('question-voice').muted") is True
    shown = c.locator("#question-text").text_content()
    said = c.evaluate("() => window.__said")
    # The server went on with the rest of the question (muted here).
    expected = [FIRST, "What kept it healthy?", "And what would you change now?"]
    deadline = time.monotonic() + 20
    while sorted(tones.requested()) != sorted(expected) and time.monotonic() < deadline:
        c.wait_for_timeout(100)
    assert sorted(tones.requested()) == sorted(expected)
    # The microphone's sentence comes round: barge-in, the browser's voice stops.
    expect(c.locator("#listening")).to_have_attribute("data-state", "hearing", timeout=30_000)
    expect(voice).not_to_have_attribute("data-speaking", re.compile("."))
    assert c.evaluate("() => document.getElementById('question-voice').muted") is True
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible(timeout=40_000)
    events = all_events(recruiter_account, interview_id)
    (question,) = [e["data"]["text"] for e in events if e["kind"] == "question"]
    # The refused sentence is the question's first: the browser said the question from there
    # on (so all of it), once; the room showed all of it.
    assert question == QUESTION
    assert said == [QUESTION], said
    assert shown == QUESTION
    with contextlib.suppress(StopIteration):
        next(signup)


def playing_from(page: Page, seconds: float) -> None:
    """Until the answer's audio plays from ``seconds`` (not from its start): its position is
    at or just past that second, and moving."""
    page.wait_for_function(
        """(at) => { const a = document.querySelector('audio.spoken-audio');
          return a && !a.paused && a.currentTime >= at - 0.05 && a.currentTime < at + 1.5; }""",
        arg=seconds,
    )


def test_the_review_plays_a_spoken_answer_from_the_sentence_clicked(
    speech_server: ServerProcess,
    two_sentence_browser: Browser,
    speech_signup: Callable[..., Account],
    open_session: Callable[..., Session],  # noqa: F811
) -> None:
    """A spoken answer timed by the speech-to-text model (whisper-1's segments, from the
    stand-in) reads sentence by sentence in the review; each sentence, and each quote of the
    evaluation, plays the answer's audio from the second it was said."""
    recruiter_account, candidate_account = speech_signup("recruiter"), speech_signup("candidate")
    _job, interview_id = schedule_by_api(
        recruiter_account, candidate_account, question_count=1, answer_mode="voice"
    )
    c = open_session(on=two_sentence_browser, base_url=speech_server.url).page
    log_in(c, candidate_account)
    c.goto(f"/#/interviews/{interview_id}/room")
    expect(c.get_by_text("Your camera works, and so does your microphone")).to_be_visible()
    # Past the pause between the two sentences: the whole answer comes round next.
    wait_for_the_end_of_the_sentence(c, "check", quiet_ms=2500)
    c.get_by_role("button", name="Start the interview").click()
    expect(c.locator("#listening")).to_have_attribute("data-state", "listening")
    expect(c.get_by_role("heading", name="Your interview is over")).to_be_visible(timeout=60_000)

    events = all_events(recruiter_account, interview_id)
    (answer,) = [e["data"] for e in events if e["kind"] == "answer"]
    assert answer["text"] == f"{SENTENCES[0]} {SENTENCES[3]}", answer
    first, second = answer["sentences"]
    assert (first["text"], second["text"]) == (SENTENCES[0], SENTENCES[3]), answer
    # The second sentence was said after the first and the pause: well into the audio.
    assert first["end_s"] < second["start_s"] and second["start_s"] > 2.0, answer

    r = open_session(on=two_sentence_browser, base_url=speech_server.url).page
    log_in(r, recruiter_account)
    r.goto(f"/#/interviews/{interview_id}/review")
    turn = r.locator("li.turn").filter(has_text=SENTENCES[3])
    expect(turn.locator(".spoken")).to_have_text("Spoken answer")
    said = turn.get_by_role("button", name=SENTENCES[3], exact=True)
    expect(said).to_have_attribute("title", re.compile(r"^Play from 0:0\d$"))
    # From the keyboard: the sentence is a button.
    said.focus()
    r.keyboard.press("Enter")
    playing_from(r, second["start_s"])
    # It jumped there: nothing between the answer's start and that sentence was played.
    played = r.evaluate(
        """() => { const p = document.querySelector('audio.spoken-audio').played;
          return Array.from({ length: p.length }, (_, i) => [p.start(i), p.end(i)]); }"""
    )
    assert all(end <= 0.5 or start >= second["start_s"] - 0.5 for start, end in played), played
    shoot(r, "review-spoken-sentences")
    r.evaluate("() => document.querySelector('audio.spoken-audio').pause()")
    turn.get_by_role("button", name=SENTENCES[0], exact=True).click()
    playing_from(r, first["start_s"])
    r.evaluate("() => document.querySelector('audio.spoken-audio').pause()")

    # The evaluation's quotes of the answer carry the second their sentence was said, and
    # play the answer from there.
    interview = recruiter_account.client.get(f"/interviews/{interview_id}").json()
    quotes = [e for c in interview["evaluation"]["criteria"] for e in c["evidence"]]
    assert quotes, interview["evaluation"]
    starts = {first["start_s"], second["start_s"]}
    for quote in quotes:
        assert quote["answer_offset"] == next(e["offset"] for e in events if e["kind"] == "answer")
        assert quote["start_s"] in starts, quote
    quote = quotes[-1]
    evidence = r.locator(".evidence button").filter(has_text=quote["quote"]).first
    expect(evidence).to_contain_text(re.compile(r"plays from 0:0\d"))
    evidence.click()
    playing_from(r, quote["start_s"])
    expect(turn).to_have_class(re.compile("highlight"))
    expect(turn.locator("button.sentence.quoted").first).to_be_visible()
