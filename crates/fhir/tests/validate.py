"""Independent check of Kith's FHIR JSON: parse every *.json file in a directory with the
`fhir.resources` R4 (4.0.1) models. Prints one line per file; exits 1 listing the validation
errors if any file is invalid, 2 if the installed models are not R4, 3 if there is nothing to check.

Usage: python validate.py DIRECTORY
"""

import json
import pathlib
import sys

import fhir.resources
from fhir.resources import construct_fhir_element

EXPECTED_FHIR_VERSION = "4.0.1"


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: validate.py DIRECTORY", file=sys.stderr)
        return 64
    found_version = getattr(fhir.resources, "__fhir_version__", "unknown")
    if found_version != EXPECTED_FHIR_VERSION:
        print(
            f"fhir.resources models are FHIR {found_version}, expected {EXPECTED_FHIR_VERSION} (R4)",
            file=sys.stderr,
        )
        return 2
    files = sorted(pathlib.Path(sys.argv[1]).glob("*.json"))
    if not files:
        print(f"no *.json files in {sys.argv[1]}", file=sys.stderr)
        return 3
    failures = 0
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            resource_type = data.get("resourceType")
            if not isinstance(resource_type, str):
                raise ValueError("missing resourceType")
            construct_fhir_element(resource_type, data)
        except Exception as error:  # noqa: BLE001 - every failure is reported, none hidden
            failures += 1
            print(f"INVALID {path.name}: {type(error).__name__}: {error}", file=sys.stderr)
        else:
            print(f"ok {path.name} {resource_type}")
    print(f"{len(files) - failures} valid, {failures} invalid")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
