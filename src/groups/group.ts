// One classic consumer group: its members, generation, selected protocol and state, as Kafka's GroupMetadata and
// MemberMetadata (core/src/main/scala/kafka/coordinator/group/). Pure bookkeeping: timers, callbacks and the
// rules of each request live in coordinator.ts.

export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

/** Kafka's GroupMetadata.validPreviousStates. */
const VALID_PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Dead: ["Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead"],
  CompletingRebalance: ["PreparingRebalance"],
  Stable: ["CompletingRebalance"],
  PreparingRebalance: ["Stable", "CompletingRebalance", "Empty"],
  Empty: ["PreparingRebalance"],
};

export interface Protocol {
  name: string;
  metadata: Uint8Array;
}

export interface JoinResult {
  errorCode: number;
  memberId: string;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  /** Filled for the leader only. */
  members: { memberId: string; groupInstanceId: string | null; metadata: Uint8Array }[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Uint8Array;
}

export class Member {
  assignment: Uint8Array = new Uint8Array(0);
  /** Set while a JoinGroup waits for the rebalance to complete. */
  awaitingJoin: ((result: JoinResult) => void) | null = null;
  /** Set while a SyncGroup waits for the leader's assignment. */
  awaitingSync: ((result: SyncResult) => void) | null = null;
  /** Joined but the rebalance that admits it has not completed yet. */
  isNew = false;
  sessionTimer: unknown = null;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: Protocol[],
  ) {}

  metadataFor(protocolName: string): Uint8Array {
    const protocol = this.protocols.find((candidate) => candidate.name === protocolName);
    if (!protocol) throw new Error(`member ${this.memberId} does not support protocol ${protocolName}`);
    return protocol.metadata;
  }

  /** Same protocols, same order, same metadata bytes (Kafka's MemberMetadata.matches). */
  matches(protocols: Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((protocol, index) => {
      const own = this.protocols[index]!;
      return own.name === protocol.name && Buffer.from(own.metadata).equals(protocol.metadata);
    });
  }
}

export class Group {
  state: GroupState = "Empty";
  /** When the group entered its state (ms, the coordinator's clock). */
  stateTimestamp: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** groupInstanceId → memberId. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED whose second JoinGroup has not arrived; value = expiry timer. */
  readonly pendingMembers = new Map<string, unknown>();
  /** Members that got their JoinGroup answer but have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** protocol name → number of members supporting it. */
  private readonly supportedProtocols = new Map<string, number>();
  membersAwaitingJoin = 0;
  /** A member joined during the initial delay of generation 0 (Kafka's newMemberAdded). */
  newMemberAdded = false;
  /** Inside Kafka's InitialDelayedJoin, which never completes early. */
  inInitialDelay = false;
  /** The pending join completion (initial delay or rebalance timeout). */
  joinTimer: unknown = null;
  syncTimer: unknown = null;

  constructor(
    readonly groupId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.stateTimestamp = now();
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(state: GroupState): void {
    if (!VALID_PREVIOUS_STATES[state].includes(this.state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.state} → ${state}`);
    }
    this.state = state;
    this.stateTimestamp = this.now();
  }

  /** Rebalances can start from these states (Kafka's canRebalance). */
  canRebalance(): boolean {
    return VALID_PREVIOUS_STATES.PreparingRebalance.includes(this.state);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): Member {
    const member = this.members.get(memberId);
    if (!member) throw new Error(`group ${this.groupId} has no member ${memberId}`);
    return member;
  }

  add(member: Member, callback: ((result: JoinResult) => void) | null): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.countProtocols(member, 1);
    member.awaitingJoin = callback;
    if (callback) this.membersAwaitingJoin++;
    this.pendingMembers.delete(member.memberId);
  }

  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member) {
      this.members.delete(memberId);
      this.countProtocols(member, -1);
      if (member.awaitingJoin) this.membersAwaitingJoin--;
      if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
        this.staticMembers.delete(member.groupInstanceId);
      }
    }
    if (this.isLeader(memberId)) this.leaderId = this.members.keys().next().value ?? null;
    this.pendingSyncMembers.delete(memberId);
  }

  updateMember(
    member: Member,
    protocols: Protocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    callback: ((result: JoinResult) => void) | null,
  ): void {
    this.countProtocols(member, -1);
    member.protocols = protocols;
    this.countProtocols(member, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (callback && !member.awaitingJoin) this.membersAwaitingJoin++;
    else if (!callback && member.awaitingJoin) this.membersAwaitingJoin--;
    member.awaitingJoin = callback;
  }

  /** Answers the member's parked JoinGroup, if any. */
  invokeJoinCallback(member: Member, result: JoinResult): void {
    const callback = member.awaitingJoin;
    if (!callback) return;
    member.awaitingJoin = null;
    this.membersAwaitingJoin--;
    callback(result);
  }

  invokeSyncCallback(member: Member, result: SyncResult): boolean {
    const callback = member.awaitingSync;
    if (!callback) return false;
    member.awaitingSync = null;
    callback(result);
    return true;
  }

  /** Moves a static member to a new member id, fencing the old id's parked requests (Kafka's replaceStaticMember). */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string, fencedErrorCode: number): Member {
    const member = this.members.get(oldMemberId);
    if (!member) throw new Error(`static member ${groupInstanceId} has no member ${oldMemberId}`);
    this.invokeJoinCallback(member, joinError(oldMemberId, fencedErrorCode));
    this.invokeSyncCallback(member, syncError(fencedErrorCode));
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    this.staticMembers.set(groupInstanceId, newMemberId);
    this.pendingSyncMembers.delete(oldMemberId);
    return member;
  }

  isStaticMemberFenced(groupInstanceId: string, memberId: string): boolean {
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.membersAwaitingJoin && this.pendingMembers.size === 0;
  }

  /** Largest rebalance timeout of the members (Kafka's GroupMetadata.rebalanceTimeoutMs). */
  rebalanceTimeoutMs(): number {
    let timeout = 0;
    for (const member of this.members.values()) timeout = Math.max(timeout, member.rebalanceTimeoutMs);
    return timeout;
  }

  /** Kafka's supportsProtocols: the first member sets the type; later ones must share it and one protocol with all. */
  supportsProtocols(protocolType: string, protocols: Protocol[]): boolean {
    if (this.members.size === 0) return protocolType.length > 0 && protocols.length > 0;
    return (
      this.protocolType === protocolType &&
      protocols.some((protocol) => this.supportedProtocols.get(protocol.name) === this.members.size)
    );
  }

  /** The protocol all members support that most members prefer; ties go to the earliest preference found. */
  selectProtocol(): string {
    const candidates = new Set<string>();
    for (const [name, count] of this.supportedProtocols) if (count === this.members.size) candidates.add(name);
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const choice = member.protocols.find((protocol) => candidates.has(protocol.name));
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    if (best === null) throw new Error(`group ${this.groupId} has no protocol all members support`);
    return best;
  }

  /** Kafka's initNextGeneration: a new generation, CompletingRebalance with members, Empty without. */
  initNextGeneration(): void {
    this.generationId++;
    this.pendingSyncMembers.clear();
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo("CompletingRebalance");
    } else {
      this.protocolName = null;
      this.transitionTo("Empty");
    }
  }

  /** If the leader did not rejoin, a member that did becomes leader; false when no member rejoined. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId !== null) {
      const leader = this.members.get(this.leaderId);
      if (leader?.awaitingJoin) return true;
    }
    for (const member of this.members.values()) {
      if (member.awaitingJoin) {
        this.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }

  /** Members' metadata for the selected protocol, as the leader's JoinGroup answer lists them. */
  currentMemberMetadata(): JoinResult["members"] {
    const protocolName = this.protocolName;
    if (protocolName === null) return [];
    return [...this.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: member.metadataFor(protocolName),
    }));
  }

  isConsumerGroup(): boolean {
    return this.protocolType === "consumer";
  }

  private countProtocols(member: Member, delta: number): void {
    for (const name of new Set(member.protocols.map((protocol) => protocol.name))) {
      const count = (this.supportedProtocols.get(name) ?? 0) + delta;
      if (count === 0) this.supportedProtocols.delete(name);
      else this.supportedProtocols.set(name, count);
    }
  }
}

export function joinError(memberId: string, errorCode: number): JoinResult {
  return { errorCode, memberId, generationId: -1, protocolType: null, protocolName: null, leader: "", skipAssignment: false, members: [] };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: new Uint8Array(0) };
}
