"""Embedded checkpoints that reuse another embedded checkpoint's network name it instead of carrying a copy.

DP-IR's pipelines are built on frozen parts that ship anyway: the task-agnostic denoiser (``dpir-denoiser``) and,
for bicubic SR and deblurring, the embedded regression CNN (``regression-<task>/network``). Copying them into
every DP-IR folder cost 15 MB of the 100 MB a Space allows for ``assets/``. So an embedded folder may hold a
``linked_components.json`` that maps a component to another folder, relative to its own::

    {"denoiser": "../dpir-denoiser", "ir_network": "../regression-sr_x4/network"}

:func:`linked_components` loads those (with the class ``model_index.json`` names) for ``from_pretrained`` to take
as given modules, so the loaded pipeline is the same as one read from a full folder, and its ``save_pretrained``
writes a full, self-contained folder again. :func:`link_duplicates` turns copies (the same values, whatever their dtype) into links.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
from pathlib import Path

LINKS = "linked_components.json"
WEIGHTS_SUFFIX = ".safetensors"


def links_of(folder: str | Path) -> dict[str, Path]:
    """Component name -> the folder its weights come from (resolved), for a folder with a links file."""
    folder = Path(folder)
    record = folder / LINKS
    if not record.is_file():
        return {}
    links = {name: (folder / target).resolve() for name, target in json.loads(record.read_text()).items()}
    for name, target in links.items():
        if not target.is_dir():
            raise FileNotFoundError(f"the checkpoint {folder.name} takes its {name} from {target.name}, which is "
                                    "missing; its model card says how to rebuild it")
    return links


def linked_components(folder: str | Path) -> dict:
    """The linked components of ``folder``, loaded: keyword arguments for ``Pipeline.from_pretrained``."""
    links = links_of(folder)
    if not links:
        return {}
    index = json.loads((Path(folder) / "model_index.json").read_text())
    loaded = {}
    for name, target in links.items():
        if name not in index:
            raise ValueError(f"{Path(folder).name}: {LINKS} names {name!r}, which is not a component of the pipeline")
        module, class_name = index[name]
        loaded[name] = getattr(importlib.import_module(module), class_name).from_pretrained(str(target))
    return loaded


def weights_hash(component: Path) -> str | None:
    """sha256 of a component folder's weights by value (None for a folder without weights, e.g. package weights).

    Each tensor's name, shape and values (floating ones widened to float64) are hashed, not the file's bytes: a
    network embedded in float16 and the float32 copy a pipeline's ``save_pretrained`` writes of it are the same
    network (widening float16 is exact), and loading the link gives the pipeline the same numbers."""
    from safetensors import safe_open

    files = sorted(component.glob(f"*{WEIGHTS_SUFFIX}"))
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        with safe_open(str(file), "pt") as weights:
            for key in sorted(weights.keys()):
                tensor = weights.get_tensor(key)
                if tensor.is_floating_point():
                    tensor = tensor.double()
                digest.update(f"{key}{tuple(tensor.shape)}".encode())
                digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def class_name(component: Path) -> str:
    return json.loads((component / "config.json").read_text()).get("_class_name", "")


def link_duplicates(folder: str | Path, library: str | Path) -> dict[str, str]:
    """Replace every component of ``folder`` whose weights hold the same values as a network of the same class
    under ``library`` (a folder of checkpoint folders; :func:`weights_hash`) with a link to it; return the links.
    Same values, same shapes: configs can differ only in keys left at their defaults."""
    folder, library = Path(folder).resolve(), Path(library).resolve()
    index = json.loads((folder / "model_index.json").read_text())
    known = {}  # the first of equal copies is the one linked to: a network's own folder before a pipeline's part
    candidates = sorted(library.glob("*/**/config.json"), key=lambda path: (len(path.parts), str(path)))
    for candidate in candidates:
        where = candidate.parent
        if folder in where.parents or where == folder:
            continue
        digest = weights_hash(where)
        if digest is not None:
            known.setdefault((digest, class_name(where)), where)
    links = json.loads((folder / LINKS).read_text()) if (folder / LINKS).is_file() else {}
    for name in index:
        component = folder / name
        if not (component / "config.json").is_file():
            continue  # not written (a linked part) or not a network
        links.pop(name, None)  # a re-export wrote the part again: its old link may be stale, so look it up anew
        digest = weights_hash(component)
        target = known.get((digest, class_name(component))) if digest else None
        if target is not None:
            links[name] = str(Path("..") / target.relative_to(library))
            shutil.rmtree(component)
    if links:
        (folder / LINKS).write_text(json.dumps(links, indent=2, sort_keys=True) + "\n")
    elif (folder / LINKS).is_file():
        (folder / LINKS).unlink()
    return links
