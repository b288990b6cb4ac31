"""The parse cache: memory keyed by path, mtime and size; JSON files in cache_dir; clear_cache()."""

import os

import tidyconf


def test_a_changed_file_is_parsed_again(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("port = 1\n")
    assert tidyconf.file_layer(path).data["port"] == 1
    path.write_text("port = 22\n")
    assert tidyconf.file_layer(path).data["port"] == 22


def test_cache_dir_holds_parsed_data_that_survives_the_memory_cache(tmp_path):
    cache = tmp_path / "cache"
    path = tmp_path / "config.toml"
    path.write_text("port = 1\n")
    stat = path.stat()
    tidyconf.file_layer(path, cache_dir=cache)
    [cached] = cache.iterdir()
    assert cached.name.startswith("tidyconf-") and cached.suffix == ".json"

    # Same size and mtime, different text: only a cache can answer 1.
    path.write_text("port = 2\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    tidyconf.clear_cache()
    assert tidyconf.file_layer(path, cache_dir=cache).data["port"] == 1
    tidyconf.clear_cache()
    assert tidyconf.load(path, schema=dict_schema(), cache_dir=cache).port == 1


def test_clear_cache_deletes_only_its_own_files(tmp_path):
    cache = tmp_path / "cache"
    path = tmp_path / "config.toml"
    path.write_text("port = 1\n")
    tidyconf.file_layer(path, cache_dir=cache)
    (cache / "notes.txt").write_text("keep me")
    tidyconf.clear_cache(cache)
    assert [entry.name for entry in cache.iterdir()] == ["notes.txt"]
    tidyconf.clear_cache(tmp_path / "never-made")


def dict_schema():
    from dataclasses import dataclass

    @dataclass
    class Ports:
        port: int

    return Ports
