"""The plugin is found through its `pytest11` entry point, by the name `wazo_bus`: a
distribution declaring it (as pyproject.toml does) is put on the path of a pytest run."""

from __future__ import annotations

import os

pytest_plugins = ["pytester"]


def test_the_entry_point_loads_the_plugin_and_no_wazo_bus_removes_it(pytester, monkeypatch,
                                                                      tmp_path):
    dist = tmp_path / "site" / "wbv_entry_point-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wbv-entry-point\n"
                                   "Version: 0.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\nwazo_bus = validator.pytest_plugin\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [os.environ.get("PYTHONPATH"), str(tmp_path / "site")])))
    pytester.makepyfile("def test_uses_it(wazo_bus):\n    pass\n")

    loaded = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    loaded.assert_outcomes(skipped=1)
    loaded.stdout.fnmatch_lines(["*the wazo-bus plugin is off: run pytest with --wazo-bus*"])

    removed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:wazo_bus")
    removed.assert_outcomes(errors=1)
    removed.stdout.fnmatch_lines(["*fixture 'wazo_bus' not found*"])
