"""LatencyStore: the evolving latency database, (graph hash, platform, batch) -> measurement.

One store is a SQLite file by default (a path, embedded, zero set-up) or any SQLAlchemy URL,
for example ``postgresql+psycopg://user@host/db`` for a store shared by several profiling
machines. It needs SQLAlchemy (``pip install "archrep[latency]"``; PostgreSQL also
``archrep[postgres]``).

**Schema** (version :data:`SCHEMA_VERSION`, kept in the table ``archrep_meta`` and checked on
open: a newer or unknown version, or archrep's tables without that table, is refused):

* ``graphs``: graph hash -> ArchGraph JSON, model family and config JSON (both may be null for a
  model that came from a file);
* ``platforms``: platform id -> descriptor JSON (:class:`~archrep.latency.platform.Platform`);
* ``measurements``: (graph hash, platform id, batch, pass) -> median, IQR and min in ms, repeats,
  warm-up runs, rounds, when it was measured and by which archrep version. A key is measured once
  (pass 0) unless more **passes** are asked for (``new_pass=True``): independent measurements of
  the same model taken at different times, whose median is a steadier label than any one of them
  (one pass re-measured hours later differs from the first by ~5 % on a 2-core machine).

A version-1 store (no passes) is upgraded in place when it is opened, in one transaction: every
measurement becomes pass 0.

**Writes** are transactions: :meth:`LatencyStore.add` writes a graph, its platform and its
measurement together or not at all, and :meth:`LatencyStore.transaction` groups several calls
into one. Writes are idempotent and **keep the first** row of a key: writing it again changes
nothing (a resumed or repeated run cannot silently change numbers already in the dataset, and
two machines racing on one job both succeed). ``replace=True`` overwrites a measurement on
purpose (a deliberate re-measurement: it replaces every pass of the key).

**Export** (:meth:`LatencyStore.export`) writes a compressed JSON-lines file, a header line then
one line per platform, graph and measurement in key order (the same store gives the same bytes,
whatever the file is called): xz when the name ends in ``.xz``, else gzip. xz is about 2.3x
smaller on the zoo, whose graphs repeat each other across lines further apart than gzip's
32 KB window; readers tell the two apart by their first bytes, not by the name;
:meth:`LatencyStore.import_` reads it back with the same keep-first rule, and :func:`read_export`
reads it without a database (what the ``zoo-latency`` dataset does; no SQLAlchemy needed).
"""
from __future__ import annotations

import contextlib
import gzip
import json
import lzma
import os
from pathlib import Path
from typing import Any, Iterator

from archrep.errors import ArchrepError, DataError, MissingDependencyError
from archrep.graph import ArchGraph
from archrep.latency.platform import Platform
from archrep.latency.profiler import Measurement

SCHEMA_VERSION = 2
EXPORT_FORMAT = "archrep-latency-store"
#: version 2 added ``pass_index`` to the measurement records; version-1 files are read as pass 0
EXPORT_VERSION = 2
#: the tables of an export, in file order
EXPORT_TABLES = ("platforms", "graphs", "measurements")
LATENCY_EXTRA_HINT = 'pip install "archrep[latency]"'
#: dialects with an atomic "insert, or do nothing / update on a duplicate key"
_UPSERT_DIALECTS = ("sqlite", "postgresql")
_MEASUREMENT_FIELDS = ("median_ms", "iqr_ms", "min_ms", "repeats", "warmup", "rounds")
#: the primary key of a measurement
MEASUREMENT_KEY = ("graph_hash", "platform_id", "batch", "pass_index")


def _sqlalchemy():
    try:
        import sqlalchemy
    except ImportError:
        raise MissingDependencyError(f"the latency store needs SQLAlchemy, which is not installed: "
                                     f"{LATENCY_EXTRA_HINT}") from None
    return sqlalchemy


def _tables(sa):
    """The schema as SQLAlchemy tables: (metadata, meta, graphs, platforms, measurements)."""
    md = sa.MetaData()
    meta = sa.Table("archrep_meta", md, sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    graphs = sa.Table("graphs", md, sa.Column("graph_hash", sa.String(64), primary_key=True),
                      sa.Column("family", sa.String(64), nullable=True, index=True),
                      sa.Column("config", sa.Text, nullable=True),
                      sa.Column("graph", sa.Text, nullable=False))
    platforms = sa.Table("platforms", md, sa.Column("platform_id", sa.String(128), primary_key=True),
                         sa.Column("descriptor", sa.Text, nullable=False))
    measurements = sa.Table(
        "measurements", md,
        sa.Column("graph_hash", sa.String(64), sa.ForeignKey("graphs.graph_hash"), primary_key=True),
        sa.Column("platform_id", sa.String(128), sa.ForeignKey("platforms.platform_id"), primary_key=True),
        sa.Column("batch", sa.Integer, primary_key=True),
        sa.Column("pass_index", sa.Integer, primary_key=True, default=0),
        sa.Column("median_ms", sa.Float, nullable=False), sa.Column("iqr_ms", sa.Float, nullable=False),
        sa.Column("min_ms", sa.Float, nullable=False), sa.Column("repeats", sa.Integer, nullable=False),
        sa.Column("warmup", sa.Integer, nullable=False), sa.Column("rounds", sa.Integer, nullable=False),
        sa.Column("measured_at", sa.String(40), nullable=False),
        sa.Column("archrep_version", sa.String(40), nullable=False))
    return md, meta, graphs, platforms, measurements


def config_json(config: dict | None) -> str | None:
    """The canonical JSON of a model config (sorted keys), as the store keeps it."""
    return None if config is None else json.dumps(config, sort_keys=True)


class LatencyStore:
    """A latency database at ``url_or_path`` (a SQLite file path or a SQLAlchemy URL).

    Opening creates the schema in an empty database and checks the schema version of an existing
    one. Use it as a context manager, or call :meth:`close`. One object per thread.
    """

    def __init__(self, url_or_path: str | os.PathLike):
        sa = _sqlalchemy()
        self._sa = sa
        text = os.fspath(url_or_path)
        if "://" not in text:
            path = Path(text).expanduser().resolve()
            if not path.parent.is_dir():
                raise ArchrepError(f"cannot create the latency store {str(path)!r}: folder "
                                   f"{str(path.parent)!r} does not exist")
            text = f"sqlite:///{path}"
        try:
            url = sa.engine.make_url(text)
            self._engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            hint = ' (pip install "archrep[postgres]")' if text.startswith("postgres") else ""
            raise ArchrepError(f"cannot open latency store {text!r}: {exc}{hint}") from None
        self.url = url.render_as_string(hide_password=False)
        #: the URL with its password hidden, for messages
        self.name = url.render_as_string(hide_password=True)
        if self._engine.dialect.name == "sqlite":
            sa.event.listen(self._engine, "connect", _sqlite_foreign_keys)
        self._md, self._meta, self._graphs, self._platforms, self._measurements = _tables(sa)
        self._conn = None
        self._open_schema()

    def _open_schema(self) -> None:
        sa = self._sa
        try:
            names = set(sa.inspect(self._engine).get_table_names())
        except sa.exc.OperationalError as exc:
            raise ArchrepError(f"cannot connect to latency store {self.name}: "
                               f"{str(exc.orig).strip().splitlines()[0]}") from None
        ours = {t.name for t in self._md.sorted_tables}
        if "archrep_meta" not in names:
            clash = sorted((ours - {"archrep_meta"}) & names)
            if clash:
                raise DataError(f"{self.name} has table(s) {clash} but no archrep_meta table: it is not an "
                                "archrep latency store; use another file or database")
            self._md.create_all(self._engine)
            with self._engine.begin() as conn:
                self._insert(conn, self._meta, [{"key": "schema_version", "value": str(SCHEMA_VERSION)}],
                             ("key",))
        with self._engine.connect() as conn:
            value = conn.execute(sa.select(self._meta.c.value)
                                 .where(self._meta.c.key == "schema_version")).scalar()
        if value is None or not value.isdigit() or int(value) < 1:
            raise DataError(f"{self.name}: unknown latency-store schema version {value!r}; "
                            "this file was not written by archrep")
        if int(value) > SCHEMA_VERSION:
            raise DataError(f"{self.name}: latency-store schema version {value} is newer than this "
                            f"archrep reads ({SCHEMA_VERSION}): upgrade archrep")
        if int(value) == 1:
            self._upgrade_from_v1()

    def _upgrade_from_v1(self) -> None:
        """Schema 1 -> 2 in one transaction: the measurements table is rebuilt with a pass column
        (its primary key changes, which SQLite cannot ALTER), every row becoming pass 0."""
        sa = self._sa
        with self._engine.begin() as conn:
            # the version row locked (PostgreSQL), then read again: two processes opening one old
            # store at once upgrade it once; the second finds version 2 and does nothing
            version = conn.execute(sa.select(self._meta.c.value).where(self._meta.c.key == "schema_version")
                                   .with_for_update()).scalar()
            if version != "1":
                return
            old = sa.Table("measurements", sa.MetaData(), autoload_with=conn)
            rows = [{**row._asdict(), "pass_index": 0} for row in conn.execute(sa.select(old))]
            old.drop(conn)
            self._measurements.create(conn)
            if rows:
                conn.execute(self._measurements.insert(), rows)
            conn.execute(self._meta.update().where(self._meta.c.key == "schema_version")
                         .values(value=str(SCHEMA_VERSION)))

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: every write inside the block is committed together at its end, or none
        of them when it raises (also KeyboardInterrupt). Nested blocks join the outer one."""
        if self._conn is not None:
            yield
            return
        with self._engine.begin() as conn:
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None

    @contextlib.contextmanager
    def _write(self):
        with self.transaction():
            yield self._conn

    def _insert(self, conn, table, rows: list[dict], keys: tuple[str, ...], replace: bool = False) -> int:
        """Insert ``rows`` keeping existing keys (or replacing them); returns the rows written."""
        if not rows:
            return 0
        dialect = conn.dialect.name
        if dialect in _UPSERT_DIALECTS:
            if dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert
            else:
                from sqlalchemy.dialects.postgresql import insert
            stmt = insert(table)
            if replace:
                stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                                  set_={c: stmt.excluded[c] for c in rows[0] if c not in keys})
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
            # RETURNING, not rowcount: psycopg reports -1 as the rowcount of an upsert
            stmt = stmt.returning(table.c[keys[0]])
            return sum(len(conn.execute(stmt, row).all()) for row in rows)
        # other dialects: look the keys up, then insert the new ones (and update the old ones)
        written = 0
        for row in rows:
            where = self._sa.and_(*[table.c[k] == row[k] for k in keys])
            exists = conn.execute(self._sa.select(table.c[keys[0]]).where(where)).first() is not None
            if not exists:
                conn.execute(table.insert(), row)
            elif replace:
                conn.execute(table.update().where(where).values(**row))
            written += not exists or replace
        return written

    # ------------------------------------------------------------------ writes
    def add_graph(self, graph: ArchGraph, family: str | None = None, config: dict | None = None) -> str:
        """Store ``graph`` (keep-first) and return its hash."""
        if not isinstance(graph, ArchGraph):
            raise ArchrepError(f"add_graph takes an ArchGraph, got {type(graph).__name__}")
        key = graph.hash()
        with self._write() as conn:
            self._insert(conn, self._graphs, [{"graph_hash": key, "family": family, "config": config_json(config),
                                              "graph": graph.to_json(sort_keys=True)}], ("graph_hash",))
        return key

    def add_platform(self, platform: Platform) -> str:
        """Store ``platform`` (keep-first) and return its id."""
        if not isinstance(platform, Platform):
            raise ArchrepError(f"add_platform takes a Platform (from archrep.latency.detect()), got "
                               f"{type(platform).__name__}")
        with self._write() as conn:
            self._insert(conn, self._platforms, [{"platform_id": platform.id, "descriptor": platform.to_json()}],
                         ("platform_id",))
        return platform.id

    def add_measurement(self, graph_hash: str, measurement: Measurement, *, replace: bool = False,
                        new_pass: bool = False) -> bool:
        """Store one measurement of a stored graph on a stored platform; True when a row was written.

        By default it is the key's first pass (False: the key was already measured). ``new_pass``
        adds it as the key's next pass (the first when there is none; False only when another
        writer took that pass meanwhile); ``replace`` makes it the key's only pass."""
        if not isinstance(measurement, Measurement):
            raise ArchrepError(f"add_measurement takes a Measurement, got {type(measurement).__name__}")
        if replace and new_pass:
            raise ArchrepError("add_measurement: replace (make this the only pass) and new_pass (add a pass) "
                               "exclude each other")
        from archrep import __version__

        key = {"graph_hash": graph_hash, "platform_id": measurement.platform, "batch": measurement.batch}
        row = {**key, "pass_index": 0, **{f: getattr(measurement, f) for f in _MEASUREMENT_FIELDS},
               "measured_at": measurement.timestamp, "archrep_version": __version__}
        m = self._measurements
        where = self._sa.and_(*[m.c[k] == v for k, v in key.items()])
        with self._write() as conn:
            if new_pass:
                row["pass_index"] = conn.execute(self._sa.select(self._sa.func.count()).select_from(m)
                                                 .where(where)).scalar()
            elif replace:
                conn.execute(m.delete().where(where))
            try:
                return self._insert(conn, m, [row], MEASUREMENT_KEY) > 0
            except self._sa.exc.IntegrityError:
                raise ArchrepError(f"measurement of graph {graph_hash} on platform {measurement.platform!r}: add "
                                   "the graph and the platform first (or use LatencyStore.add)") from None

    def add(self, graph: ArchGraph, measurement: Measurement, platform: Platform, *, family: str | None = None,
            config: dict | None = None, replace: bool = False, new_pass: bool = False) -> bool:
        """Graph, platform and measurement in one transaction; True when the measurement was written
        (``replace`` / ``new_pass``: :meth:`add_measurement`)."""
        if isinstance(platform, Platform) and platform.id != measurement.platform:
            raise ArchrepError(f"the measurement was made on {measurement.platform!r}, not on {platform.id!r}")
        with self.transaction():
            key = self.add_graph(graph, family, config)
            self.add_platform(platform)
            return self.add_measurement(key, measurement, replace=replace, new_pass=new_pass)

    # ------------------------------------------------------------------ reads
    def _read(self):
        return contextlib.nullcontext(self._conn) if self._conn is not None else self._engine.connect()

    def has(self, graph_hash: str, platform_id: str, batch: int) -> bool:
        return self.passes(graph_hash, platform_id, batch) > 0

    def passes(self, graph_hash: str, platform_id: str, batch: int) -> int:
        """How many passes of the key are stored (0: not measured)."""
        m = self._measurements.c
        with self._read() as conn:
            return conn.execute(self._sa.select(self._sa.func.count()).select_from(self._measurements).where(
                m.graph_hash == graph_hash, m.platform_id == platform_id, m.batch == batch)).scalar()

    def measured_configs(self, platform_id: str, passes: int = 1) -> set[tuple[str, str]]:
        """(family, config JSON) of every stored graph measured on ``platform_id`` in at least
        ``passes`` passes (at one batch)."""
        g, m = self._graphs.c, self._measurements.c
        query = (self._sa.select(g.family, g.config).join_from(self._measurements, self._graphs)
                 .where(m.platform_id == platform_id, g.family.is_not(None))
                 .group_by(g.family, g.config, m.graph_hash, m.batch)
                 .having(self._sa.func.count() >= passes))
        with self._read() as conn:
            return {(row.family, row.config) for row in conn.execute(query)}

    def graph(self, graph_hash: str) -> ArchGraph:
        with self._read() as conn:
            text = conn.execute(self._sa.select(self._graphs.c.graph)
                                .where(self._graphs.c.graph_hash == graph_hash)).scalar()
        if text is None:
            raise ArchrepError(f"graph {graph_hash!r} is not in the latency store {self.name}")
        return ArchGraph.from_json(text)

    def platforms(self) -> dict[str, Platform]:
        with self._read() as conn:
            rows = conn.execute(self._sa.select(self._platforms).order_by(self._platforms.c.platform_id))
            return {r.platform_id: Platform.from_json(r.descriptor) for r in rows}

    def measurements(self, platform_id: str | None = None, family: str | None = None) -> list[dict]:
        """Measurement rows (with the graph's family and config; every pass a row), in key order,
        optionally filtered."""
        g, m = self._graphs.c, self._measurements.c
        query = (self._sa.select(self._measurements, g.family, g.config).join_from(self._measurements, self._graphs)
                 .order_by(*[m[k] for k in MEASUREMENT_KEY]))
        if platform_id is not None:
            query = query.where(m.platform_id == platform_id)
        if family is not None:
            query = query.where(g.family == family)
        with self._read() as conn:
            return [{**row._asdict(), "config": json.loads(row.config) if row.config else None}
                    for row in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        """Rows per table: graphs, platforms, measurements."""
        with self._read() as conn:
            return {t.name: conn.execute(self._sa.select(self._sa.func.count()).select_from(t)).scalar()
                    for t in (self._graphs, self._platforms, self._measurements)}

    # ------------------------------------------------------------------ export / import
    def export(self, path: str | os.PathLike) -> dict[str, int]:
        """Write the whole store to an xz (name ending in ``.xz``) or gzip JSON-lines file (module
        docstring); returns the rows written per table.
        The file is written under a temporary name and renamed, so an interrupted export never
        leaves a half-written file in place of a good one."""
        from archrep import __version__

        path = Path(path)
        if not path.parent.is_dir():
            raise ArchrepError(f"cannot export to {str(path)!r}: folder {str(path.parent)!r} does not exist")
        header = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "schema_version": SCHEMA_VERSION,
                  "archrep_version": __version__}
        order = {self._graphs: [self._graphs.c.graph_hash], self._platforms: [self._platforms.c.platform_id],
                 self._measurements: list(self._measurements.primary_key.columns)}
        tmp = path.with_name(f".{path.name}.tmp")
        written = dict.fromkeys(("platforms", "graphs", "measurements"), 0)
        try:
            with open(tmp, "wb") as f, _compressed(f, path) as raw, self._read() as conn:
                # the (small) measurement rows first: a graph and its platform are stored before their
                # measurement, so a profiling run writing meanwhile cannot leave one pointing nowhere
                measured = list(conn.execute(self._sa.select(self._measurements).order_by(*order[self._measurements])))
                raw.write((json.dumps(header, sort_keys=True) + "\n").encode())
                for table in (self._platforms, self._graphs, self._measurements):
                    rows = measured if table is self._measurements else conn.execute(
                        self._sa.select(table).order_by(*order[table]))
                    for row in rows:
                        record = {"table": table.name, **row._asdict()}
                        raw.write((json.dumps(record, sort_keys=True) + "\n").encode())
                        written[table.name] += 1
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return written

    def import_(self, path: str | os.PathLike, *, replace: bool = False) -> dict[str, int]:
        """Read an :meth:`export` file into this store in one transaction (keep-first, or
        ``replace`` measurements); returns the rows written per table."""
        tables = {t.name: t for t in (self._graphs, self._platforms, self._measurements)}
        keys = {"graphs": ("graph_hash",), "platforms": ("platform_id",), "measurements": MEASUREMENT_KEY}
        written = dict.fromkeys(tables, 0)
        with self.transaction():
            for lineno, name, record in read_export(path):
                if set(record) != {c.name for c in tables[name].columns}:
                    raise DataError(f"{path}, line {lineno}: a {name} record without that table's columns")
                written[name] += self._insert(self._conn, tables[name], [record], keys[name],
                                              replace and name == "measurements")
        return written

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> "LatencyStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LatencyStore({self.name!r})"


#: the first bytes of an xz file; an export that does not start with them is read as gzip
XZ_MAGIC = b"\xfd7zXZ\x00"


def _compressed(f, path: Path):
    """A writer that compresses into the open binary file ``f``: xz if ``path`` ends in ``.xz``,
    else gzip (with no file name or time in its header, so the same bytes under any name)."""
    if path.suffix == ".xz":
        return lzma.LZMAFile(f, "wb", format=lzma.FORMAT_XZ, preset=6)
    return gzip.GzipFile("", "wb", fileobj=f, mtime=0)


def read_export(path: str | os.PathLike) -> Iterator[tuple[int, str, dict]]:
    """The records of a :meth:`LatencyStore.export` file as (line number, table name, columns),
    after checking its header. A file that is not such an export, is newer than this archrep, or is
    damaged (not gzip or xz, not JSON, truncated, a record of no known table) raises one DataError."""
    if not Path(path).is_file():
        raise DataError(f"latency export {str(path)!r} does not exist; write one with "
                        "'archrep latency-dataset export --store URL --out FILE'")
    try:
        with open(path, "rb") as probe:
            xz = probe.read(len(XZ_MAGIC)) == XZ_MAGIC
        with (lzma.open if xz else gzip.open)(path, "rt", encoding="utf-8") as f:
            header = json.loads(f.readline() or "null")
            if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
                raise DataError(f"{path}: not an archrep latency export (no '{EXPORT_FORMAT}' header line); "
                                "write one with 'archrep latency-dataset export'")
            if not isinstance(header.get("version"), int) or header["version"] > EXPORT_VERSION:
                raise DataError(f"{path}: export version {header.get('version')!r} is newer than this archrep "
                                f"reads ({EXPORT_VERSION}): upgrade archrep")
            for lineno, line in enumerate(f, start=2):
                record = json.loads(line)
                name = record.pop("table", None) if isinstance(record, dict) else None
                if name not in EXPORT_TABLES:
                    raise DataError(f"{path}, line {lineno}: not a {' / '.join(EXPORT_TABLES)} record")
                if name == "measurements" and header["version"] < 2:
                    record.setdefault("pass_index", 0)  # version 1 had one measurement per key
                yield lineno, name, record
    except (OSError, EOFError, lzma.LZMAError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the latency export ({type(exc).__name__}: {exc}); "
                        "the file may be truncated") from None


def _sqlite_foreign_keys(dbapi_conn, _record) -> None:
    """SQLite checks foreign keys only when asked, per connection."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
