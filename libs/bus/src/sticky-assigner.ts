import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/** A member of a group as the assignment sees it: its id, and the partitions it holds now (by topic). */
export interface Holder {
  readonly id: string;
  readonly holds: Readonly<Record<string, readonly number[]>>;
}

/**
 * A balanced assignment of `partitions` (by topic) that moves as few as it can: every
 * member gets its share (the partitions over the members, the first few one more),
 * keeping what it holds up to its share; only the rest moves, to those below theirs.
 * The members holding most get the larger shares. Every partition goes to exactly one
 * member. Deterministic: same members and holdings, same answer. Pure.
 */
export function stickyAssignment(
  members: readonly Holder[],
  partitions: Readonly<Record<string, readonly number[]>>,
): Map<string, Record<string, number[]>> {
  const result = new Map<string, Record<string, number[]>>(members.map((m) => [m.id, {}]));
  for (const [topic, all] of Object.entries(partitions)) {
    const valid = new Set(all);
    const held = (m: Holder) => (m.holds[topic] ?? []).filter((p) => valid.has(p));
    // Larger shares to those holding more (then by id): they give up the least.
    const ordered = [...members].sort((a, b) => held(b).length - held(a).length || a.id.localeCompare(b.id));
    const base = Math.floor(all.length / Math.max(1, members.length));
    const extra = all.length % Math.max(1, members.length);
    const share = new Map(ordered.map((m, i) => [m.id, base + (i < extra ? 1 : 0)]));
    const taken = new Set<number>();
    const assigned = new Map(members.map((m) => [m.id, [] as number[]]));
    // What each keeps: its own partitions, each to the first claiming it, up to its share.
    for (const m of ordered) {
      for (const p of held(m)) {
        if (taken.has(p) || assigned.get(m.id)!.length >= share.get(m.id)!) continue;
        taken.add(p);
        assigned.get(m.id)!.push(p);
      }
    }
    // The rest, in order, to those below their share.
    const rest = [...all].sort((a, b) => a - b).filter((p) => !taken.has(p));
    for (const m of ordered) {
      const mine = assigned.get(m.id)!;
      while (mine.length < share.get(m.id)! && rest.length > 0) mine.push(rest.shift()!);
    }
    for (const m of members) {
      const mine = assigned.get(m.id)!.sort((a, b) => a - b);
      if (mine.length > 0) result.get(m.id)![topic] = mine;
    }
  }
  return result;
}

const NAME = 'MeshStickyAssigner';
const VERSION = 0;

/**
 * kafkajs's side of `stickyAssignment`: each member tells the group what it holds (the
 * `userData` of its join), and the leader hands out partitions keeping those where it
 * can. A replica joining or leaving then moves only the partitions that must move;
 * the rest carry on where they are, uninterrupted (a live room keeps its mixer).
 * `holds` is what this member holds now (its last assignment).
 */
export function stickyAssigner(holds: () => Record<string, number[]>): PartitionAssigner {
  return ({ cluster }) => ({
    name: NAME,
    version: VERSION,
    assign({ members, topics }) {
      const holders = members.map(({ memberId, memberMetadata }) => {
        const { userData } = AssignerProtocol.MemberMetadata.decode(memberMetadata) ?? {};
        return { id: memberId, holds: parseHolds(userData) };
      });
      const partitions = Object.fromEntries(
        topics.map((topic) => [topic, cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId)]),
      );
      const assignment = stickyAssignment(holders, partitions);
      return Promise.resolve(
        [...assignment].map(([memberId, assigned]) => ({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: VERSION,
            assignment: assigned,
            userData: Buffer.alloc(0),
          }),
        })),
      );
    },
    protocol({ topics }) {
      return {
        name: NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: VERSION,
          topics,
          userData: Buffer.from(JSON.stringify(holds())),
        }),
      };
    },
  });
}

/** A member's holdings from its join's userData; none when it sent none or something else. */
function parseHolds(userData: Buffer | undefined): Record<string, number[]> {
  if (!userData || userData.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(userData.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter(
        (entry): entry is [string, number[]] =>
          Array.isArray(entry[1]) && entry[1].every((p) => Number.isInteger(p) && p >= 0),
      ),
    );
  } catch {
    return {};
  }
}
