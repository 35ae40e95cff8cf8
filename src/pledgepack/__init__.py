"""pledgepack: publish pledge trackers as validated open-data packages.

The public API. `build_package` (pledgepack.build.build) is the single entry
point the CLI and the tests both use.
"""
from __future__ import annotations

__all__ = ["build_package", "release_package", "read_content", "validate_package",
           "PackageSchema", "Diagnostic", "PledgepackError", "ContentError", "PackageInvalid"]

from .errors import ContentError, Diagnostic, PackageInvalid, PledgepackError


def __getattr__(name):
    # Heavy modules load on first use, so that importing the package (and --help) stays fast.
    if name == "build_package":
        from .build import build
        return build
    if name == "release_package":
        from .release.cut import release
        return release
    if name == "read_content":
        from .content.folder import read_content
        return read_content
    if name == "validate_package":
        from .check.validate import validate_package
        return validate_package
    if name == "PackageSchema":
        from .schema import PackageSchema
        return PackageSchema
    raise AttributeError(name)
