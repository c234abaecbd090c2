// The topics of a data folder, persisted as one `topics.json`, replaced atomically (write temp, fsync, rename,
// fsync the folder) after every create, delete or partition change, before the client hears it succeeded. The log
// start offsets live with each partition's segments (log/file/file-log.ts).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../log/file/file-io.ts";
import type { StoredTopic, TopicStore } from "./topic-store.ts";
import { uuidFromString, uuidToString } from "./uuid.ts";

export const TOPIC_CATALOG_FILE = "topics.json";
const CATALOG_VERSION = 1;

interface CatalogFile {
  version: number;
  topics: { name: string; topicId: string; partitions: number; configs: Record<string, string> }[];
}

export class TopicCatalog {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, TOPIC_CATALOG_FILE);
  }

  /** The persisted topics; none when the file does not exist yet. Throws on a damaged file (never guess here). */
  load(): StoredTopic[] {
    if (!existsSync(this.path)) return [];
    const parsed = JSON.parse(readFileSync(this.path, "utf8")) as CatalogFile;
    if (parsed.version !== CATALOG_VERSION || !Array.isArray(parsed.topics)) {
      throw new Error(`${this.path}: unknown catalog version ${parsed.version}`);
    }
    return parsed.topics.map((topic) => ({
      name: topic.name,
      topicId: uuidFromString(topic.topicId),
      numPartitions: topic.partitions,
      configs: new Map(Object.entries(topic.configs)),
    }));
  }

  save(store: TopicStore): void {
    const file: CatalogFile = {
      version: CATALOG_VERSION,
      topics: store.list().map((topic) => ({
        name: topic.name,
        topicId: uuidToString(topic.topicId),
        partitions: topic.partitions.length,
        configs: Object.fromEntries(topic.configs),
      })),
    };
    writeFileAtomic(this.path, JSON.stringify(file, null, 1) + "\n");
  }
}
