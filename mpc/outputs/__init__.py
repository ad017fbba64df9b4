"""Output safety: calmline writes only its own files and never loses one of yours.

Every file calmline writes goes through this package:

* an output *folder* (``run``, ``compare``, ``replay``, ``steptest run``,
  ``lmpc identify --save-log``, reports) is created when absent and accepted
  when empty; a folder that holds files is refused unless ``force``
  (``--force``), and with it calmline replaces exactly the files its manifest
  lists and it writes again, removes the listed files it does not write again
  (old charts, an old controller's subfolder) and touches nothing else;
* a single output *file* (``--out FILE``, ``--save FILE``) is never
  overwritten without ``force``, and with it replaced only when calmline
  wrote it;
* the manifest, ``.calmline-manifest.json`` in the folder, lists each file
  calmline wrote with its size, sha256, the command and the time; a listed
  file whose content changed since (you edited it) is never replaced or
  removed, a file it does not list is never replaced;
* the input files of the command are never written or removed.

A refusal raises :class:`~mpc.errors.OutputExistsError` (a
:class:`~mpc.errors.CalmlineError`: ``Error: ...`` and exit code 2 on the
command line) before anything is written. ``docs/outputs.md`` has the rules.
"""

from mpc.outputs._common import same_path
from mpc.outputs._file import OutputFile, write_declared_file
from mpc.outputs._folder import OutputFolder
from mpc.outputs._manifest import MANIFEST_NAME, Manifest, file_digest

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "OutputFile",
    "OutputFolder",
    "file_digest",
    "same_path",
    "write_declared_file",
]
