// Test helper: a real small disk, a tmpfs mounted for one test, to fill up.
// Mounting needs root on Linux, as this project's CI runs; elsewhere the
// tests that use it are ignored (`SMALL_DISK_IGNORED`).

/** True where a tmpfs cannot be mounted: not Linux, or not root. */
export const SMALL_DISK_IGNORED = Deno.build.os !== "linux" ||
  Deno.uid() !== 0;

/** Runs a command, throwing with its stderr if it fails. */
export function sh(cmd: string, ...args: string[]): void {
  const out = new Deno.Command(cmd, { args, stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** A mounted tmpfs; `resize` stands for an operator freeing space. */
export interface SmallDisk {
  /** The mount point, an empty directory. */
  dir: string;
  /** Changes the size limit, keeping the files. */
  resize(mib: number): void;
}

/**
 * Mounts a tmpfs of `mib` MiB for `fn`, then unmounts and removes it.
 *
 * @param mib Its size.
 * @param fn The test.
 */
export async function withSmallDisk(
  mib: number,
  fn: (disk: SmallDisk) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "intentbus-disk-" });
  try {
    sh("mount", "-t", "tmpfs", "-o", `size=${mib}m,mode=0700`, "tmpfs", dir);
    try {
      await fn({
        dir,
        resize: (size) => sh("mount", "-o", `remount,size=${size}m`, dir),
      });
    } finally {
      // Lazy: a process of the test's (a database server) may still hold it.
      sh("umount", "-l", dir);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
