"""Spoken answers: the end of an answer (vad), its transcription and the questions' speech
(OpenAI-compatible clients). docs/architecture.md#speech says how they fit the live session."""
