"""Test helpers that are not tests: a scripted OpenAI-compatible server, a tiny interruptible graph."""
