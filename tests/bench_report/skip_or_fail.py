"""skip_unless(condition, reason): unittest's skipUnless, except in CI (CI=true), where a test that
cannot run fails with the reason instead, and elsewhere the reason is appended to $SHERRY_SKIP_LOG
for the end of scripts/test.sh. The C++ twin is testing/skip.h, the shell one scripts/lib/skip.sh.
"""

import functools
import inspect
import os
import unittest


def skips_are_failures():
    return os.environ.get("CI") in ("true", "1")


def _log(reason):
    path = os.environ.get("SHERRY_SKIP_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{os.path.basename(inspect.stack()[2].filename)}: {reason}\n")


def skip_unless(condition, reason):
    if condition:
        return lambda target: target
    if not skips_are_failures():
        _log(reason)
        return unittest.skip(reason)

    def fail_instead(target):
        if isinstance(target, type):
            for name, member in list(vars(target).items()):
                if name.startswith("test") and callable(member):
                    setattr(target, name, fail_instead(member))
            return target

        @functools.wraps(target)
        def failing(self, *args, **kwargs):
            self.fail(f"cannot be skipped in CI (CI=true): {reason}")
        return failing
    return fail_instead
