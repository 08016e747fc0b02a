"""The catalog as configuration: a YAML file read into the same schema the admin API accepts."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from signalhub.catalog.schemas import CatalogFile
from signalhub.config import describe_configuration_error

MAX_FILE_BYTES = 1024 * 1024


class CatalogFileError(Exception):
    pass


def read_catalog_file(path: Path) -> CatalogFile:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CatalogFileError(f"larger than {MAX_FILE_BYTES} bytes")
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogFileError(error.strerror or str(error)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise CatalogFileError(f"not valid YAML: {error}") from None
    try:
        return CatalogFile.model_validate(document)
    except ValidationError as error:
        raise CatalogFileError("\n" + describe_configuration_error(error)) from None
