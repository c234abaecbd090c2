// Where reads from segment files land: bump allocation inside pooled slabs, so a read writes into memory that was
// touched before (fresh pages cost ~12 µs each here, PERFORMANCE.md) and no buffer is allocated per read.
// Every reservation holds a lease on its slab. A full slab goes back to the pool once all its leases are released
// (Fetch releases them after its response is written); a slab with a lease never released (a caller that keeps
// the view) is left to the GC instead, so a view is never overwritten while someone may still hold it.

import type { SlabPool } from "../memory-log.ts";

interface ReadSlab {
  readonly bytes: Uint8Array;
  used: number;
  leases: number;
  /** Full: no further reservations; back to the pool when leases reach 0. */
  retired: boolean;
}

export class ReadBuffers {
  private current: ReadSlab | null = null;
  /** The slab of every pooled view handed out; weak, so abandoned slabs go to the GC. */
  private readonly slabsByBuffer = new WeakMap<ArrayBufferLike, ReadSlab>();
  /** Start of the last reservation in the current slab, while it may still shrink. */
  private lastStart = -1;
  /** Leases handed out by reserve() and not yet released (tests check that readers give theirs back). */
  leasedCount = 0;

  constructor(readonly pool: SlabPool) {}

  /** A view of `length` writable bytes, leased until release(view). */
  reserve(length: number): Uint8Array {
    if (length > this.pool.slabBytes) {
      this.lastStart = -1;
      return new Uint8Array(length);
    }
    let slab = this.current;
    if (slab === null || slab.bytes.length - slab.used < length) {
      if (slab !== null) this.retire(slab);
      slab = { bytes: this.pool.acquire(), used: 0, leases: 0, retired: false };
      this.slabsByBuffer.set(slab.bytes.buffer, slab);
      this.current = slab;
    }
    this.lastStart = slab.used;
    slab.used += length;
    slab.leases++;
    this.leasedCount++;
    return slab.bytes.subarray(this.lastStart, slab.used);
  }

  /** Gives back the end of the last reservation when the reader used only `usedLength` of it. */
  shrinkLast(view: Uint8Array, usedLength: number): void {
    const slab = this.current;
    if (slab === null || this.lastStart < 0 || view.buffer !== slab.bytes.buffer) return;
    if (view.byteOffset - slab.bytes.byteOffset !== this.lastStart || this.lastStart + view.length !== slab.used) return;
    slab.used = this.lastStart + usedLength;
  }

  /** Ends the lease of a view from reserve(); call once, when nothing reads the view (or views of it) any more. */
  release(view: Uint8Array): void {
    const slab = this.slabsByBuffer.get(view.buffer);
    if (slab === undefined) return;
    slab.leases--;
    this.leasedCount--;
    if (slab.leases > 0) return;
    if (slab.retired) {
      this.giveBack(slab);
    } else if (slab === this.current) {
      // Nobody holds a view into it: the next reads start over at its beginning (a consumer keeps reusing one slab).
      slab.used = 0;
      this.lastStart = -1;
    }
  }

  private retire(slab: ReadSlab): void {
    slab.retired = true;
    if (slab.leases === 0) this.giveBack(slab);
  }

  private giveBack(slab: ReadSlab): void {
    this.slabsByBuffer.delete(slab.bytes.buffer);
    this.pool.release(slab.bytes);
  }
}
