// Keys and values of the internal topic __consumer_offsets, in Kafka's own layout
// (group-coordinator/src/main/resources/common/message/OffsetCommitKey.json, OffsetCommitValue.json,
// GroupMetadataKey.json, GroupMetadataValue.json), so Kafka's tools could read our records:
// - key version 1: group, topic, partition → value version 3: offset, leader epoch, metadata, commit timestamp;
// - key version 2: group → value version 3: protocol type, generation, protocol, leader, state time, members.
// A null value is a tombstone. Versions 0-3 of these schemas are not flexible (plain int16-length strings).

import { ByteReader } from "../protocol/byte-reader.ts";
import { ByteWriter } from "../protocol/byte-writer.ts";

const OFFSET_COMMIT_KEY_VERSIONS = [0, 1];
const OFFSET_COMMIT_KEY_VERSION = 1;
const GROUP_METADATA_KEY_VERSION = 2;
const OFFSET_COMMIT_VALUE_VERSION = 3;
const GROUP_METADATA_VALUE_VERSION = 3;

export interface OffsetCommitKey {
  kind: "offset";
  group: string;
  topic: string;
  partition: number;
}

export interface GroupMetadataKey {
  kind: "group";
  group: string;
}

export interface CommittedOffset {
  offset: number;
  /** -1 when the client did not say (OffsetCommit < v6). */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}

export interface StoredMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the group's selected protocol. */
  subscription: Uint8Array;
  assignment: Uint8Array;
}

export interface StoredGroup {
  protocolType: string;
  generation: number;
  protocolName: string | null;
  leader: string | null;
  currentStateTimestamp: number;
  members: StoredMember[];
}

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Uint8Array {
  const writer = new ByteWriter(64);
  writer.writeInt16(OFFSET_COMMIT_KEY_VERSION);
  writer.writeString(group);
  writer.writeString(topic);
  writer.writeInt32(partition);
  return writer.toUint8Array();
}

export function encodeGroupMetadataKey(group: string): Uint8Array {
  const writer = new ByteWriter(64);
  writer.writeInt16(GROUP_METADATA_KEY_VERSION);
  writer.writeString(group);
  return writer.toUint8Array();
}

/** Null for a key of a version we do not know (Kafka skips those too). Throws ProtocolDecodeError when malformed. */
export function decodeKey(key: Uint8Array): OffsetCommitKey | GroupMetadataKey | null {
  const reader = new ByteReader(key);
  const version = reader.readInt16();
  if (OFFSET_COMMIT_KEY_VERSIONS.includes(version)) {
    return { kind: "offset", group: reader.readString(), topic: reader.readString(), partition: reader.readInt32() };
  }
  if (version === GROUP_METADATA_KEY_VERSION) return { kind: "group", group: reader.readString() };
  return null;
}

export function encodeOffsetCommitValue(value: CommittedOffset): Uint8Array {
  const writer = new ByteWriter(64 + value.metadata.length * 3);
  writer.writeInt16(OFFSET_COMMIT_VALUE_VERSION);
  writer.writeInt64Number(value.offset);
  writer.writeInt32(value.leaderEpoch);
  writer.writeString(value.metadata);
  writer.writeInt64Number(value.commitTimestamp);
  return writer.toUint8Array();
}

/** Reads value versions 0-3 (v1 has an expire timestamp we ignore, v3 adds the leader epoch). */
export function decodeOffsetCommitValue(value: Uint8Array): CommittedOffset {
  const reader = new ByteReader(value);
  const version = reader.readInt16();
  const offset = Number(reader.readInt64());
  const leaderEpoch = version >= 3 ? reader.readInt32() : -1;
  const metadata = reader.readString();
  const commitTimestamp = Number(reader.readInt64());
  return { offset, leaderEpoch, metadata, commitTimestamp };
}

export function encodeGroupMetadataValue(group: StoredGroup): Uint8Array {
  const writer = new ByteWriter(256);
  writer.writeInt16(GROUP_METADATA_VALUE_VERSION);
  writer.writeString(group.protocolType);
  writer.writeInt32(group.generation);
  writer.writeNullableString(group.protocolName);
  writer.writeNullableString(group.leader);
  writer.writeInt64Number(group.currentStateTimestamp);
  writer.writeArrayLength(group.members.length);
  for (const member of group.members) {
    writer.writeString(member.memberId);
    writer.writeNullableString(member.groupInstanceId);
    writer.writeString(member.clientId);
    writer.writeString(member.clientHost);
    writer.writeInt32(member.rebalanceTimeoutMs);
    writer.writeInt32(member.sessionTimeoutMs);
    writer.writeBytes(member.subscription);
    writer.writeBytes(member.assignment);
  }
  return writer.toUint8Array();
}

/** Reads value versions 0-3. Byte fields are copied: the log's buffers are not ours to keep. */
export function decodeGroupMetadataValue(value: Uint8Array): StoredGroup {
  const reader = new ByteReader(value);
  const version = reader.readInt16();
  const protocolType = reader.readString();
  const generation = reader.readInt32();
  const protocolName = reader.readNullableString();
  const leader = reader.readNullableString();
  const currentStateTimestamp = version >= 2 ? Number(reader.readInt64()) : -1;
  const count = reader.readArrayLength(8);
  const members: StoredMember[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = reader.readString();
    const groupInstanceId = version >= 3 ? reader.readNullableString() : null;
    const clientId = reader.readString();
    const clientHost = reader.readString();
    const rebalanceTimeoutMs = version >= 1 ? reader.readInt32() : 0;
    const sessionTimeoutMs = reader.readInt32();
    const subscription = reader.readBytes().slice();
    const assignment = reader.readBytes().slice();
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      rebalanceTimeoutMs: version >= 1 ? rebalanceTimeoutMs : sessionTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  return { protocolType, generation, protocolName, leader, currentStateTimestamp, members };
}

/** Topics named in a ConsumerProtocolSubscription (any version: they all start with version, topics), or null. */
export function subscribedTopics(subscription: Uint8Array): string[] | null {
  try {
    const reader = new ByteReader(subscription);
    reader.readInt16();
    const count = reader.readArrayLength(2);
    const topics: string[] = [];
    for (let i = 0; i < count; i++) topics.push(reader.readString());
    return topics;
  } catch {
    return null;
  }
}
