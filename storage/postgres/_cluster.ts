// Test and bench helper: a throwaway PostgreSQL cluster on a free loopback
// port, made with the machine's own initdb and pg_ctl (Debian's
// postgresql package), removed again by `stop()`. `INTENTBUS_PG_URL`, when
// set, names an existing server to use instead; `stop()` then does nothing.

/** A running cluster. */
export interface Cluster {
  /**
   * `postgres://…` for a superuser on the cluster's default database, with
   * the cluster's password: it takes TCP logins only with one.
   */
  url: string;
  /** With `tls`: the path of the server's self-signed certificate, its own CA. */
  caFile?: string;
  /** Stops the server and deletes its files (a no-op for `INTENTBUS_PG_URL`). */
  stop(): void;
  /**
   * Restarts the server on the same port and files, dropping every
   * connection (`pg_ctl restart -m immediate`, a crash and recovery).
   * Throws for `INTENTBUS_PG_URL`, which is not ours to restart.
   */
  restart(): void;
  /**
   * Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server and every backend:
   * connections stay open and the kernel still acknowledges what is sent,
   * but nothing answers, as with a network partition or a stalled host.
   * Throws for `INTENTBUS_PG_URL`.
   */
  freeze(frozen: boolean): void;
}

/** How the cluster runs. */
export interface ClusterOptions {
  /**
   * Flush to disk on commit, as a real deployment does. Off by default:
   * tests only need a server that behaves like one, not one that survives
   * a power cut, and `fsync` on this VM's disk costs seconds per suite.
   */
  durable?: boolean;
  /** Start a cluster of its own even when `INTENTBUS_PG_URL` names one (to stop it). */
  fresh?: boolean;
  /**
   * Accept TCP connections only over TLS (`hostssl` in `pg_hba.conf`), with
   * a self-signed certificate for 127.0.0.1 and `localhost` made by
   * `openssl`; implies `fresh`.
   */
  tls?: boolean;
}

/** Finds PostgreSQL's server binaries: `INTENTBUS_PG_BIN`, then Debian's newest. */
function binDir(): string {
  const given = Deno.env.get("INTENTBUS_PG_BIN");
  if (given) return given;
  const versions: number[] = [];
  try {
    for (const e of Deno.readDirSync("/usr/lib/postgresql")) {
      if (/^\d+$/.test(e.name)) versions.push(Number(e.name));
    }
  } catch {
    // No Debian layout: fall through to the error below.
  }
  const newest = versions.sort((a, b) => b - a)[0];
  if (newest === undefined) {
    throw new Error(
      "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: install Debian's postgresql package, set INTENTBUS_PG_BIN, or set INTENTBUS_PG_URL to a running server",
    );
  }
  return `/usr/lib/postgresql/${newest}/bin`;
}

/** Runs a PostgreSQL tool, as the `postgres` user when we are root (initdb refuses root). */
function run(asPostgres: boolean, cmd: string, args: string[]): void {
  const command = asPostgres
    ? new Deno.Command("runuser", {
      args: ["-u", "postgres", "--", cmd, ...args],
    })
    : new Deno.Command(cmd, { args });
  const out = command.outputSync();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) +
      new TextDecoder().decode(out.stdout);
    throw new Error(`${cmd} failed (exit ${out.code}): ${text.trim()}`);
  }
}

/**
 * Makes the server's key and self-signed certificate in `dir`, and lets TCP
 * connections in only over TLS. The key must belong to the server's user
 * and be readable by it alone.
 */
function makeCertificate(dir: string, root: boolean) {
  const cert = `${dir}/server.crt`;
  const key = `${dir}/server.key`;
  run(false, "openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  Deno.chmodSync(key, 0o600);
  Deno.chmodSync(cert, 0o644);
  if (root) run(false, "chown", ["postgres", key, cert]);
  Deno.writeTextFileSync(
    `${dir}/pg_hba.conf`,
    "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
  );
  return { cert, key, hba: `${dir}/pg_hba.conf` };
}

/** The postmaster of the cluster in `data` and all its descendants. */
function processTree(data: string): number[] {
  const root = Number(
    Deno.readTextFileSync(`${data}/postmaster.pid`)
      .split("\n")[0],
  );
  const parents = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(e.name), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts a fresh cluster (about 1–2 s), or returns `INTENTBUS_PG_URL`.
 *
 * @param options See {@linkcode ClusterOptions}.
 * @returns The cluster's URL and a synchronous `stop`.
 */
export function startCluster(options: ClusterOptions = {}): Cluster {
  const given = Deno.env.get("INTENTBUS_PG_URL");
  if (given && !options.fresh && !options.tls) {
    return {
      url: given,
      stop() {},
      restart() {
        throw new Error(
          "INTENTBUS_PG_URL names a server this test did not start",
        );
      },
      freeze() {
        throw new Error(
          "INTENTBUS_PG_URL names a server this test did not start",
        );
      },
    };
  }
  const bin = binDir();
  const root = Deno.uid() === 0;
  const dir = Deno.makeTempDirSync({ prefix: "intentbus-pg-" });
  if (root) {
    const pg = new Deno.Command("id", { args: ["-u", "postgres"] })
      .outputSync();
    if (!pg.success) {
      throw new Error("Running as root needs a `postgres` user to run initdb");
    }
    const uid = Number(new TextDecoder().decode(pg.stdout).trim());
    Deno.chownSync(dir, uid, null);
  }
  const data = `${dir}/data`;
  // TCP connections log in with a password (SCRAM-SHA-256), as in any real
  // deployment; the Unix socket, which only pg_ctl uses, trusts.
  const password = crypto.randomUUID();
  Deno.writeTextFileSync(`${dir}/pwfile`, `${password}\n`);
  if (root) run(false, "chown", ["postgres", `${dir}/pwfile`]);
  try {
    run(root, `${bin}/initdb`, [
      "-D",
      data,
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      `--pwfile=${dir}/pwfile`,
      "-U",
      "intentbus",
      "-E",
      "UTF8",
      "--no-sync",
      "--no-instructions",
    ]);
  } catch (err) {
    Deno.removeSync(dir, { recursive: true }); // no empty dir left behind
    throw err;
  }
  const tls = options.tls ? makeCertificate(dir, root) : undefined;
  const settings = [
    ...(tls
      ? [
        "-c ssl=on",
        `-c ssl_cert_file=${tls.cert}`,
        `-c ssl_key_file=${tls.key}`,
        `-c hba_file=${tls.hba}`,
      ]
      : []),
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c max_connections=200",
    ...(options.durable ? [] : [
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
    ]),
  ];
  // pg_ctl may pick a port another process takes first; try a few.
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    const ctl = (action: string, ...more: string[]) =>
      run(root, `${bin}/pg_ctl`, [
        "-D",
        data,
        "-l",
        `${dir}/server.log`,
        "-w",
        "-t",
        "60",
        "-o",
        `-p ${port} ${settings.join(" ")}`,
        ...more,
        action,
      ]);
    try {
      ctl("start");
    } catch (err) {
      if (attempt < 3) continue;
      Deno.removeSync(dir, { recursive: true });
      throw err;
    }
    let stopped = false;
    return {
      url: `postgres://intentbus:${password}@127.0.0.1:${port}/postgres`,
      caFile: tls?.cert,
      stop() {
        if (stopped) return;
        stopped = true;
        try {
          run(root, `${bin}/pg_ctl`, ["-D", data, "-m", "immediate", "stop"]);
        } finally {
          Deno.removeSync(dir, { recursive: true });
        }
      },
      restart() {
        ctl("restart", "-m", "immediate");
      },
      freeze(frozen) {
        const signal = frozen ? "SIGSTOP" : "SIGCONT";
        // Scan again until no new process shows up: a backend forked
        // between a scan and the postmaster's stop must not stay awake.
        const done = new Set<number>();
        for (let fresh = true; fresh;) {
          fresh = false;
          for (const pid of processTree(data)) {
            if (done.has(pid)) continue;
            done.add(pid);
            fresh = true;
            try {
              Deno.kill(pid, signal);
            } catch (err) {
              // A backend that exited since the scan.
              if (!(err instanceof Deno.errors.NotFound)) throw err;
            }
          }
        }
      },
    };
  }
}

/**
 * Creates a new, empty database on the server of `url` (a superuser's), so
 * that a test or a benchmark server has tables of its own on a shared
 * cluster; `drop()` removes it, closing what is still connected.
 *
 * @param url A superuser's URL, such as a {@linkcode Cluster}'s.
 * @returns The new database's URL.
 */
export async function createDatabase(
  url: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `db_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = async (sql: string) => void await runOnce(url, sql);
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: () => admin(`DROP DATABASE ${name} WITH (FORCE)`),
  };
}

/**
 * Runs one statement on a connection of its own, opened and closed around it.
 *
 * @param url Where to connect. @param sql The statement.
 * @returns The rows it returned.
 */
export async function runOnce(
  url: string,
  sql: string,
): Promise<Record<string, unknown>[]> {
  const { default: pg } = await import("pg");
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}
