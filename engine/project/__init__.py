"""Project files: versioned JSON read strictly and migrated, block libraries, saving.

``files`` reads and writes projects; ``library`` reads and writes block libraries
(it builds on ``files``: a project's ``blocks`` section serves as a library too).
"""

from engine.project.files import (
    FORMAT,
    MAX_REASON,
    SCHEMA_VERSION,
    ProjectError,
    check_blocks_section,
    load_project,
    loads_project,
    project_from_dict,
    project_to_dict,
    read_blocks_file,
    save_project,
    to_json,
)
from engine.project.library import blocks_of_file, describe, load_library, save_library

__all__ = [
    "FORMAT",
    "MAX_REASON",
    "SCHEMA_VERSION",
    "ProjectError",
    "blocks_of_file",
    "check_blocks_section",
    "describe",
    "load_library",
    "load_project",
    "loads_project",
    "project_from_dict",
    "project_to_dict",
    "read_blocks_file",
    "save_library",
    "save_project",
    "to_json",
]
