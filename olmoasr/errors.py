"""Typed errors. Every error a user can cause carries a one-line message that names the file (and line)."""

from __future__ import annotations

import reprlib

_MAX_MESSAGE = 600  # characters: a message quoting hostile input stays one readable line


def brief(value: object) -> str:
    """A short repr for error messages: nested or huge values are cut, never expanded in full."""
    short = reprlib.Repr()  # keyword limits need Python 3.12
    short.maxlevel, short.maxstring, short.maxother = 2, 60, 60
    short.maxlist = short.maxdict = short.maxtuple = short.maxset = 4
    return short.repr(value)


def one_line(message: str, limit: int = _MAX_MESSAGE) -> str:
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[:limit] + "..."


class OlmoasrError(Exception):
    """Base class: the CLI prints `str(err)` as one line and exits non-zero, without a traceback."""


class UsageError(OlmoasrError):
    """A wrong path, option or argument combination."""


class ConfigError(OlmoasrError):
    """A YAML config that does not load or names an unknown key / tagger / field."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(one_line(f"{path}: {message}"))


class InputError(OlmoasrError):
    """One bad input item (a file or a line). Jobs count these and go on with the rest."""

    def __init__(self, path: str, reason: str, message: str, line: int | None = None):
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class AudioError(InputError):
    """Audio that is missing, corrupt, empty or undecodable."""

    def __init__(self, path: str, reason: str, message: str):
        super().__init__(path, reason, message)


class TranscriptError(InputError):
    """A transcript that is empty or cannot be parsed as SRT/WebVTT."""


class HubUnavailableError(OlmoasrError):
    """The Hugging Face Hub cannot be reached (offline) or the file is not there."""


class HubOfflineError(HubUnavailableError):
    """The Hub is unreachable and what was asked for is not in its cache. The message ends with what to do
    offline; a command swaps that advice for its own option (`with_advice`)."""

    def __init__(self, problem: str, advice: str):
        self.problem = problem
        self.advice = advice
        super().__init__(f"{problem}; {advice}")

    def with_advice(self, advice: str) -> HubOfflineError:
        return HubOfflineError(self.problem, advice)


class ModelOfflineError(HubOfflineError):
    """A model (weights) the Hub cannot give now; the advice names the installed offline model."""

    def with_advice(self, advice: str) -> ModelOfflineError:
        return ModelOfflineError(self.problem, advice)
