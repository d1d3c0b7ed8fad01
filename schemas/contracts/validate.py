"""Validates JSONL records against streamscore's contracts.

    python validate.py SCHEMA.json RECORDS.jsonl [SCHEMA.json RECORDS.jsonl ...]

Each line of RECORDS.jsonl must be one JSON object that SCHEMA.json
(draft 2020-12, formats asserted) accepts. Prints one line per file with
the number of records checked, and every failure with its line; exits 1 if
any record fails, 2 on bad usage. Needs the packages of requirements.txt.
"""

import json
import sys

import jsonschema


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = 0
    for schema_path, records_path in zip(argv[0::2], argv[1::2]):
        with open(schema_path, encoding="utf-8") as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        if "date-time" not in cls.FORMAT_CHECKER.checkers:
            # jsonschema checks date-time only with rfc3339-validator.
            print("date-time is not checked: install requirements.txt (rfc3339-validator)", file=sys.stderr)
            return 2
        validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        n = bad = 0
        with open(records_path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                n += 1
                errors = sorted(validator.iter_errors(json.loads(line)), key=lambda e: list(e.absolute_path))
                if errors:
                    bad += 1
                    if bad <= 20:
                        for e in errors:
                            where = "/".join(str(p) for p in e.absolute_path) or "(record)"
                            print(f"{records_path}:{lineno}: {where}: {e.message}")
        print(f"{records_path}: {n} records checked against {schema_path}: {bad} failed")
        if n == 0:
            print(f"{records_path}: no records", file=sys.stderr)
            bad += 1
        failed += bad
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
