"""pyx12's maps, with the ones portalbot corrects laid over them (see README.md here).

pyx12 reads every map, the map index (``maps.xml``), the control-segment maps and its code
lists from one directory (its ``map_path``). To replace one map without copying the others,
portalbot gives pyx12 a private directory (``0700``, removed when the process ends) of
links: each file of pyx12's own map folder, except where this folder has a corrected file
of the same name.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import pyx12

HERE = Path(__file__).resolve().parent
PYX12_MAPS = Path(pyx12.__file__).resolve().parent / "map"

# (ISA12, GS08, GS01, map file, abbreviation): versions pyx12's index does not list.
# 837P X222A2 is the 2010 errata to A1 (code values and situational rules, no new segments
# or loops), so pyx12's A1 map reads it; 277 X212 is read with the corrected map here.
EXTRA_MAPS = (
    ("00501", "005010X222A2", "HC", "837.5010.X222.A1.xml", "837P"),
    ("00501", "005010X212", "HN", "277.5010.X212.xml", "277A1"),
)


def corrected() -> list[Path]:
    """The maps portalbot ships in place of pyx12's."""
    return sorted(HERE.glob("*.xml"))


@functools.cache
def map_path() -> str:
    """The directory to give pyx12 as ``map_path``; made once per process."""
    target = Path(tempfile.mkdtemp(prefix="portalbot-x12-maps-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    ours = {path.name: path for path in corrected()}
    for source in PYX12_MAPS.iterdir():
        if source.is_file():
            (target / source.name).symlink_to(ours.pop(source.name, source))
    for name, path in ours.items():
        (target / name).symlink_to(path)
    return str(target)
