"""Exceptions raised by synchrony.

Every error a user can cause (a bad file, a bad parameter) is a :class:`SynchronyError`
with a one-line message that names the file or parameter and the problem, so the CLI
and batch runs can print it without a traceback.
"""

from __future__ import annotations

import os


class SynchronyError(Exception):
    """Base class of every error synchrony raises on purpose."""


class ParameterError(SynchronyError, ValueError):
    """A parameter is out of its documented domain.

    The message has one shape: "The 'x' parameter of f must be ...; got ...".
    """

    @classmethod
    def expected(cls, name: str, func: str, must: str, got: object) -> "ParameterError":
        return cls(f"The {name!r} parameter of {func} must be {must}; got {got!r}.")


class InputFileError(SynchronyError):
    """An input file is missing, unreadable or not what it claims to be."""

    def __init__(self, path: os.PathLike | str, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class MediaError(InputFileError):
    """A recording cannot be decoded or lacks what the analysis needs."""


class NoAudioError(MediaError):
    """A recording has no audio track, but the analysis asked for one."""


class NoFaceError(MediaError):
    """No face was found in a recording (or in one person's region of it)."""


class ConfigError(SynchronyError, ValueError):
    """A configuration value or combination of values is invalid."""


class ModelError(SynchronyError):
    """A model file that ships inside synchrony is missing or not the one it should be.

    Like :class:`InputFileError` the message is one line, "<path>: <problem>"; it is not
    one, because the file belongs to the installation, not to the user's data.
    """

    def __init__(self, path: os.PathLike | str, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
