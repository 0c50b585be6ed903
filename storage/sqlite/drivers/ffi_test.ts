import assert from "node:assert/strict";
import { join } from "node:path";
import { openFfi } from "./ffi.ts";

const FFI_URL = new URL("./ffi.ts", import.meta.url).href;

/**
 * Runs `code` in a fresh Deno granted exactly `flags` (`deno eval` would
 * grant everything); returns its output.
 */
async function denoRun(
  flags: string[],
  code: string,
  env: Record<string, string> = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "intentbus_ffi_" });
  try {
    const script = join(dir, "main.ts");
    await Deno.writeTextFile(
      script,
      `import { openFfi } from "${FFI_URL}";\n${code}`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", ...flags, script],
      env: { NO_COLOR: "1", ...env },
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return {
      ok: out.success,
      stdout: decode(out.stdout),
      stderr: decode(out.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("integers beyond the safe range read back as bigints", () => {
  const db = openFfi({ path: ":memory:" });
  try {
    const row = db.prepare("SELECT ? AS max, ? AS min, ? AS edge, ? AS safe")
      .get(2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n, 2n ** 53n - 1n);
    assert.deepEqual(row, {
      max: 2n ** 63n - 1n,
      min: -(2n ** 63n),
      edge: 2n ** 53n,
      safe: Number.MAX_SAFE_INTEGER,
    });
  } finally {
    db.close();
  }
});

Deno.test("text with NUL characters and long multibyte text round-trip", () => {
  // 100,000 repeats need 1.5 MB, past the 1 MiB scratch; 4,000 fit in it.
  const db = openFfi({ path: ":memory:" });
  try {
    const long = "日本🎉x".repeat(100_000);
    const select = db.prepare("SELECT ? AS nul, ? AS long, length(?) AS n");
    const row = select.get("a\0b", long, long);
    assert.deepEqual(row, { nul: "a\0b", long, n: long.length - 100_000 });
    const mid = long.slice(0, 5 * 4000);
    assert.deepEqual(select.get("", mid, mid), {
      nul: "",
      long: mid,
      n: 16000,
    });
  } finally {
    db.close();
  }
});

Deno.test("a call with fewer parameters binds the missing ones as NULL", () => {
  const db = openFfi({ path: ":memory:" });
  try {
    const select = db.prepare("SELECT ? AS a, ? AS b");
    assert.deepEqual(select.get(1, "x"), { a: 1, b: "x" });
    assert.deepEqual(select.get(2), { a: 2, b: null });
  } finally {
    db.close();
  }
});

Deno.test("misuse throws TypeError or RangeError, not SqliteError", () => {
  const db = openFfi({ path: ":memory:" });
  const select = db.prepare("SELECT ? AS a");
  assert.throws(() => select.get(true as unknown as null), TypeError);
  assert.throws(() => db.prepare("  -- nothing"), RangeError);
  db.close();
  assert.throws(() => select.get(1), TypeError);
  assert.throws(() => db.exec("SELECT 1"), TypeError);
  db.close();
});

Deno.test("a reused SELECT * follows renamed and added columns", () => {
  // node:sqlite in Deno 2.9.6 keeps the names of its first run here.
  const db = openFfi({ path: ":memory:" });
  try {
    db.exec("CREATE TABLE s (id INTEGER PRIMARY KEY, label TEXT)");
    db.prepare("INSERT INTO s (id, label) VALUES (1, 'x')").run();
    const select = db.prepare("SELECT * FROM s");
    assert.deepEqual(select.get(), { id: 1, label: "x" });
    db.exec("ALTER TABLE s RENAME COLUMN label TO tag");
    assert.deepEqual(select.get(), { id: 1, tag: "x" });
    db.exec("ALTER TABLE s ADD COLUMN z DEFAULT 3");
    assert.deepEqual(select.all(), [{ id: 1, tag: "x", z: 3 }]);
  } finally {
    db.close();
  }
});

Deno.test("a library without SQLite's symbols is named with the reason", async () => {
  const result = await denoRun(
    ["--allow-ffi", "--allow-env"],
    `try { openFfi({ path: ":memory:" }); } catch (e) { console.log(e.message); }`,
    { INTENTBUS_SQLITE_LIB: "libc.so.6" },
  );
  assert.ok(result.ok, result.stderr);
  assert.match(
    result.stdout,
    /^Cannot load libsqlite3: tried "libc\.so\.6" \(.*sqlite3_/,
  );
});

Deno.test("statements the caller drops are finalized after GC", async () => {
  // sqlite_stmt (SQLITE_ENABLE_STMTVTAB, on in Debian) lists live statements.
  const result = await denoRun(
    ["--allow-ffi", "--v8-flags=--expose-gc"],
    `const db = openFfi({ path: ":memory:" });
     const live = db.prepare("SELECT count(*) AS n FROM sqlite_stmt");
     for (let i = 0; i < 100; i++) db.prepare("SELECT " + i).get();
     const before = live.get().n;
     let after = before;
     for (let i = 0; i < 200 && after > 1; i++) {
       globalThis.gc();
       await new Promise((resolve) => setTimeout(resolve, 0));
       after = live.get().n;
     }
     console.log(before, after);
     db.close();`,
  );
  assert.ok(result.ok, result.stderr);
  assert.equal(result.stdout.trim(), "101 1");
});

Deno.test("rows are plain objects keyed by column name", () => {
  const db = openFfi({ path: ":memory:" });
  try {
    const row = db.prepare("SELECT 1 AS one, 'two' AS \"the two\"").get();
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    assert.deepEqual(Object.keys(row!), ["one", "the two"]);
  } finally {
    db.close();
  }
});

Deno.test("with only --allow-ffi, SQLite still writes files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "intentbus_ffi_" });
  try {
    const path = join(dir, "sandbox.db");
    const result = await denoRun(
      ["--allow-ffi"],
      `const db = openFfi({ path: ${JSON.stringify(path)} });
       db.exec("CREATE TABLE t (x)");
       db.close();`,
    );
    assert.ok(result.ok, result.stderr);
    assert.ok(Deno.statSync(path).size > 0, "the sandbox was bypassed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without --allow-ffi, opening fails with NotCapable", async () => {
  const result = await denoRun(
    [],
    `try { openFfi({ path: ":memory:" }); } catch (e) { console.log(e.name); }`,
  );
  assert.ok(result.ok, result.stderr);
  assert.equal(result.stdout.trim(), "NotCapable");
});

Deno.test("INTENTBUS_SQLITE_LIB names the only library tried", async () => {
  const result = await denoRun(
    ["--allow-ffi", "--allow-env"],
    `try { openFfi({ path: ":memory:" }); } catch (e) { console.log(e.message); }`,
    { INTENTBUS_SQLITE_LIB: "/nonexistent/libsqlite3.so" },
  );
  assert.ok(result.ok, result.stderr);
  assert.equal(
    result.stdout.trim(),
    'Cannot load libsqlite3: tried "/nonexistent/libsqlite3.so"; ' +
      "set INTENTBUS_SQLITE_LIB to its path",
  );
});
