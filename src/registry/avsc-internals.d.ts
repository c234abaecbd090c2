// avsc's byte cursor, not in its published types: produce validation walks Avro records with Type#_skip over it
// (no record object is built), as avsc's own schema resolution does.
declare module "avsc/lib/utils.js" {
  export class Tap {
    constructor(buffer: Buffer, position?: number);
    pos: number;
    isValid(): boolean;
  }
}
