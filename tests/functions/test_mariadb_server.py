"""The throwaway MariaDB manager: a clear message without the server binaries, and a restart after a crash
that keeps what was committed."""

import pytest

from localcloud import mariadb as manager
from orders_test_support import query


def test_missing_binaries_say_how_to_install_them(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(manager, "_SEARCH_DIRS", (str(tmp_path),))
    with pytest.raises(FileNotFoundError, match="sudo apt-get install mariadb-server.*brew install mariadb"):
        manager.MariaDB().start()


def test_a_killed_server_restarts_on_its_data(mariadb, database_name):
    mariadb.create_database(database_name)
    mariadb.execute(f"CREATE TABLE `{database_name}`.t (x INT PRIMARY KEY)")
    mariadb.execute(f"INSERT INTO `{database_name}`.t VALUES (1)")
    port = mariadb.port

    mariadb.kill()
    assert not mariadb.running
    mariadb.restart()

    assert mariadb.port == port
    connection = mariadb.root_connection(database_name)
    try:
        assert query(connection, "SELECT x FROM t") == [(1,)]
    finally:
        connection.close()
