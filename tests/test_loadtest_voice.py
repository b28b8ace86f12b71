"""``openhire loadtest --voice N`` (issue 14): spoken interviews end to end, small, run as the
command (its own server, its loopback transcription stand-in, espeak-ng speech over aiortc
peers); its report's shape and its no-loss proof, which must fail on a log that is not what
the acks promised. Nothing here asserts speed: the figures are in docs/benchmarks.md."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from clients.loadtest.options import build_parser, check_args
from clients.loadtest.transcriber import TEXT, Transcriber
from clients.loadtest.voice import Spoken, check_voices
from tests.conftest import ROOT
from tests.speech_audio import require_espeak


@pytest.mark.slow
def test_voice_sessions_run_as_a_command_and_lose_nothing(tmp_path: Path) -> None:
    require_espeak()
    out = tmp_path / "voice.json"
    argv = ["--voice", "2", "--questions", "2", "--ramp-up", "0.5", "--json", str(out), "--quiet"]
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "loadtest", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "end of speech -> ack" in proc.stdout
    assert "OK: nothing lost: 4 acked spoken answers" in proc.stdout
    result = orjson.loads(out.read_bytes())
    assert result["local"] is True and result["exit_code"] == 0
    voice = result["voice"]
    assert voice["sessions"] == voice["completed"] == voice["held_to_the_end"] == 2
    assert voice["answers_acked"] == 4 and voice["failures"] == {}
    check = voice["verification"]
    assert check["ok"] is True and check["problems"] == [] and check["answers_checked"] == 4
    # One transcription a spoken answer, of the audio the candidate spoke (2-3 s), and at most
    # one more for the live transcript (OPENHIRE_STT_LIVE: its one sentence, as a phrase).
    assert 4 <= voice["stand_in"]["requests"] <= 8
    assert 1.5 < voice["stand_in"]["audio_s_p50"] < 6
    assert voice["generator_loop_lag_ms"]["count"] > 0
    for name in ("end_of_speech_to_ack_ms", "stand_in_ms", "ack_less_stand_in_ms"):
        figures = check[name]
        assert figures["count"] == 4
        assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"]
    # The server ended each answer itself: only after the end-of-answer silence.
    assert check["end_of_speech_to_ack_ms"]["p50"] > 1000 * voice["end_silence_s"] * 0.8
    server = voice["server"]
    assert server["speaking_sessions"] > 0 and server["rss_peak_mb"] > 0
    assert {"cpu_per_session", "rss_per_session_mb", "cpu_without_media"} <= set(server)


def _answer(offset: int, cid: str, text: str, **data: Any) -> dict[str, Any]:
    body = {"question_id": f"q{offset}", "text": text, "source": "voice"}
    body.update(transcribed=True, blob_key=f"k{offset}")
    return {
        "offset": offset,
        "kind": "answer",
        "client_id": cid,
        "data": {**body, **data},
    }


def test_the_voice_check_names_what_was_lost_or_not_spoken() -> None:
    served = [{"n": n, "service_s": 0.002 * n} for n in (1, 2)]
    spoken = [Spoken("iv", [("voice:q2", 2, 10.0, 11.5), ("voice:q4", 4, 20.0, 21.4)], True)]
    log = [
        {"offset": 1, "kind": "question", "client_id": None, "data": {}},
        _answer(2, "voice:q2", f"{TEXT} #1"),
        {"offset": 3, "kind": "question", "client_id": None, "data": {}},
        _answer(4, "voice:q4", f"{TEXT} #2"),
        {"offset": 5, "kind": "state", "client_id": None, "data": {"state": "completed"}},
    ]
    good = check_voices(spoken, {"iv": log}, served)
    assert good["ok"] is True and good["answers_checked"] == 2
    assert good["end_of_speech_to_ack_ms"]["max"] == 1500.0
    assert good["stand_in_ms"]["max"] == 4.0
    assert good["ack_less_stand_in_ms"]["p50"] == 1396.0

    def problems(log: list[dict[str, Any]]) -> list[str]:
        found: list[str] = check_voices(spoken, {"iv": log}, served)["problems"]
        return found

    lost = [copy.deepcopy(e) for e in log if e["offset"] != 4]
    for i, event in enumerate(lost):
        event["offset"] = i + 1
    assert any("lost: answer voice:q4" in p for p in problems(lost))
    typed = copy.deepcopy(log)
    typed[3]["data"]["source"] = None
    assert problems(typed) == ["iv: voice:q4: not a transcribed spoken answer (source None,"
                               " transcribed True)"]  # fmt: skip
    untranscribed = copy.deepcopy(log)
    untranscribed[1]["data"].update(transcribed=False, text="")
    assert len(problems(untranscribed)) == 2  # not transcribed, and not the stand-in's text
    unacked = copy.deepcopy(log)
    unacked.insert(4, {**_answer(5, "voice:q9", f"{TEXT} #3")})
    unacked[5]["offset"] = 6
    assert "iv: answer at offset 5 was logged but never acked" in problems(unacked)


def test_the_stand_in_answers_openais_shape_and_records_its_time() -> None:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(bytes(2 * 16000 * 2))
    with Transcriber() as stand_in:
        files = {"file": ("answer.wav", buffer.getvalue(), "audio/wav")}
        url = stand_in.base_url + "/audio/transcriptions"
        ok = httpx.post(url, files=files, data={"model": "whisper-1", "response_format": "json"})
        assert ok.status_code == 200
        assert ok.json() == {"text": f"{TEXT} #1", "usage": {"type": "duration", "seconds": 2}}
        no_model = httpx.post(url, files=files, data={})
        assert no_model.status_code == 400 and no_model.json()["error"]["param"] == "model"
        not_wav = httpx.post(url, files={"file": ("a.wav", b"nope")}, data={"model": "m"})
        assert not_wav.status_code == 400 and not_wav.json()["error"]["param"] == "file"
        (served,) = stand_in.requests()
        assert served["n"] == 1 and served["audio_s"] == 2.0 and served["service_s"] > 0
        assert stand_in.cpu_s() > 0


def test_voice_options() -> None:
    parser = build_parser()
    args = parser.parse_args(["--voice", "3"])
    check_args(parser, args)
    assert args.voice == 3
    for argv in (
        ["--voice", "0"],
        ["--voice", "2", "--media", "2"],
        ["--voice", "2", "--url", "x"],
    ):
        with pytest.raises(SystemExit):
            check_args(parser, parser.parse_args(argv))
