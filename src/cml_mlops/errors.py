"""Errors that the CLI turns into a clear message and a non-zero exit code."""

from __future__ import annotations


class CmlMlopsError(Exception):
    """Base class: a failure the user can act on (bad input, bad data, unreachable service)."""

    exit_code = 1


class ConfigError(CmlMlopsError):
    """The project configuration is missing, malformed or inconsistent."""


class DownloadError(CmlMlopsError):
    """The data set could not be fetched."""


class ChecksumError(DownloadError):
    """A fetched or cached file does not have the configured SHA-256."""


class UnsafeArchiveError(CmlMlopsError):
    """An archive member would escape the target folder, is a link, or is too large."""


class DataFormatError(CmlMlopsError):
    """A data file cannot be parsed (empty, wrong encoding, wrong separator...)."""


class ContractViolation(CmlMlopsError):
    """Data does not satisfy its contract; carries the report for the caller."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class LakeError(CmlMlopsError):
    """A lake operation failed; the table is left at its previous snapshot."""
