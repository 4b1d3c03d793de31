"""``flash-nas nni register`` / ``unregister``: make the FLASH tuner selectable by name in NNI.

Both run NNI's own ``nnictl algo`` (the one installed beside this Python) on the meta file that
ships in the package, then check NNI's registry, because ``nnictl`` reports some failures with
exit status 0. NNI keeps registrations per environment (a virtual environment's own folder, or
``$NNI_CONFIG_DIR``), so every environment and every CI job registers again.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from flash_nas._imports import require
from flash_nas.cli.commands import summary
from flash_nas.errors import FlashNasError

#: What the meta file registers.
TUNER_NAME = "FlashTuner"
TUNER_ALIAS = "FLASH"
TUNER_CLASS = "flash_nas.integrations.nni.FlashTuner"


def meta_file() -> Path:
    """The NNI meta file that ships in the package."""
    return Path(str(resources.files("flash_nas") / "nni_meta.yml"))


def add_to(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "nni",
        help=summary("nni"),
        description="Register the FLASH tuner with NNI so that an experiment names it like a "
        f"built-in tuner (tuner: {{name: {TUNER_NAME}}}), or remove the registration. Needs the "
        "nni extra.",
    )
    actions = parser.add_subparsers(dest="nni_action", metavar="ACTION", required=True)
    register = actions.add_parser(
        "register",
        help=f"register {TUNER_NAME} (alias {TUNER_ALIAS})",
        description=f"Run `nnictl algo register --meta` on the meta file shipped in flash-nas: "
        f"{TUNER_NAME} (alias {TUNER_ALIAS}) becomes {TUNER_CLASS}.",
    )
    register.set_defaults(run=run, nni_action="register")
    unregister = actions.add_parser(
        "unregister",
        help=f"remove the {TUNER_NAME} registration",
        description=f"Run `nnictl algo unregister {TUNER_NAME}`.",
    )
    unregister.set_defaults(run=run, nni_action="unregister")


def nnictl() -> list[str]:
    """The ``nnictl`` of this Python's environment (its module where the script is missing)."""
    for name in ("nnictl", "nnictl.exe"):
        script = Path(sys.executable).with_name(name)
        if script.is_file():
            return [str(script)]
    return [sys.executable, "-m", "nni.tools.nnictl.nnictl"]


def _registered() -> Any:
    from nni.tools.package_utils.config_manager import get_algo_meta

    return get_algo_meta(TUNER_NAME)


#: NNI 3.0's nnictl imports pkg_resources, which setuptools deprecates with a warning on every
#: run; NNI is archived upstream, so nothing will change there: flash-nas's nnictl runs hide it.
PKG_RESOURCES_FILTER = "ignore:pkg_resources is deprecated as an API:UserWarning"


def nnictl_environment() -> dict[str, str]:
    """This process's environment, with the pkg_resources deprecation warning filtered."""
    filters = [f for f in os.environ.get("PYTHONWARNINGS", "").split(",") if f]
    return {**os.environ, "PYTHONWARNINGS": ",".join([*filters, PKG_RESOURCES_FILTER])}


def _nnictl(*arguments: str) -> str:
    command = [*nnictl(), *arguments]
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, env=nnictl_environment()
    )
    output = (completed.stdout + completed.stderr).strip()
    if completed.returncode != 0:
        raise FlashNasError(
            f"`{' '.join(command)}` failed (exit status {completed.returncode}):\n{output}"
        )
    return output


def run(args: argparse.Namespace) -> int:
    require("nni", "flash-nas nni")
    from nni.runtime.config import get_config_directory

    where = get_config_directory()
    if args.nni_action == "register":
        output = _nnictl("algo", "register", "--meta", str(meta_file()))
        meta = _registered()
        if meta is None or meta.class_name != TUNER_CLASS:
            raise FlashNasError(
                f"nnictl did not register {TUNER_NAME} (NNI's registry at {where} has "
                f"{meta.class_name if meta else 'no such tuner'}). nnictl said:\n{output}"
            )
        print(
            f"Registered the NNI tuner {TUNER_NAME} (alias {TUNER_ALIAS}) -> {TUNER_CLASS} in "
            f"{where}. Name it in an experiment as tuner: {{name: {TUNER_NAME}, classArgs: "
            "{space: nasbench201}}; `nnictl algo list` shows it."
        )
        return 0
    if _registered() is None:
        print(f"{TUNER_NAME} is not registered with NNI ({where}); nothing to do.")
        return 0
    output = _nnictl("algo", "unregister", TUNER_NAME)
    if _registered() is not None:
        raise FlashNasError(f"nnictl did not unregister {TUNER_NAME}. nnictl said:\n{output}")
    print(f"Unregistered the NNI tuner {TUNER_NAME} from {where}.")
    return 0
