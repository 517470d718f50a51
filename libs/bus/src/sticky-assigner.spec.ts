import { stickyAssignment, type Holder } from './sticky-assigner';

const T = 'mesh.streams';
const twelve = { [T]: Array.from({ length: 12 }, (_, i) => i) };
const holds = (assignment: Map<string, Record<string, number[]>>): Holder[] =>
  [...assignment].map(([id, topics]) => ({ id, holds: topics }));
const of = (assignment: Map<string, Record<string, number[]>>, id: string) => assignment.get(id)?.[T] ?? [];
/** Partitions that changed hands from `before` to `after`. */
const moved = (before: Map<string, Record<string, number[]>>, after: Map<string, Record<string, number[]>>) =>
  twelve[T].filter((p) => {
    const owner = (a: typeof before) => [...a].find(([, topics]) => topics[T]?.includes(p))?.[0];
    return owner(before) !== undefined && owner(before) !== owner(after);
  });

/** Every partition to exactly one member, shares at most one apart. */
function expectBalanced(assignment: Map<string, Record<string, number[]>>, partitions: readonly number[]): void {
  const all = [...assignment.values()].flatMap((topics) => topics[T] ?? []);
  expect([...all].sort((a, b) => a - b)).toEqual([...partitions].sort((a, b) => a - b));
  const sizes = [...assignment.values()].map((topics) => topics[T]?.length ?? 0);
  expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
}

describe('sticky assignment', () => {
  it('moves only the partitions a new member must take, and only a leaving member’s', () => {
    const first = stickyAssignment([{ id: 'a', holds: {} }], twelve);
    expect(of(first, 'a')).toEqual(twelve[T]);
    const two = stickyAssignment([...holds(first), { id: 'b', holds: {} }], twelve);
    expectBalanced(two, twelve[T]);
    expect(moved(first, two)).toHaveLength(6);

    // A third replica: a takes nothing from b or b from a; each gives the newcomer two.
    const three = stickyAssignment([...holds(two), { id: 'c', holds: {} }], twelve);
    expectBalanced(three, twelve[T]);
    expect(moved(two, three)).toHaveLength(4);
    expect(of(three, 'c')).toHaveLength(4);
    for (const id of ['a', 'b']) expect(of(two, id)).toEqual(expect.arrayContaining(of(three, id)));

    // b dies: only its four move, and a and c keep all theirs.
    const left = stickyAssignment(
      holds(three).filter((m) => m.id !== 'b'),
      twelve,
    );
    expectBalanced(left, twelve[T]);
    expect(moved(three, left).sort((x, y) => x - y)).toEqual(of(three, 'b'));
  });

  it('is deterministic, and gives a partition two members claim to one of them', () => {
    const members = [
      { id: 'b', holds: { [T]: [0, 1, 2, 3, 4, 5] } },
      { id: 'a', holds: { [T]: [0, 1, 2, 6, 7, 8] } },
    ];
    const once = stickyAssignment(members, twelve);
    expect(stickyAssignment([...members].reverse(), twelve)).toEqual(once);
    expectBalanced(once, twelve[T]);
  });

  it('ignores holdings of partitions the topic does not have, and members beyond the partitions get none', () => {
    const small = { [T]: [0, 1] };
    const assignment = stickyAssignment(
      [
        { id: 'a', holds: { [T]: [7, 9] } },
        { id: 'b', holds: {} },
        { id: 'c', holds: { [T]: [1] } },
      ],
      small,
    );
    expect(of(assignment, 'c')).toEqual([1]);
    expect([...of(assignment, 'a'), ...of(assignment, 'b')]).toEqual([0]);
  });

  it('always assigns every partition once and balanced, whatever the members held (random groups)', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 500; round++) {
      const partitions = Array.from({ length: 1 + Math.floor(random() * 16) }, (_, i) => i);
      const members = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, i) => ({
        id: `m${i}`,
        holds: { [T]: partitions.filter(() => random() < 0.4).concat(random() < 0.2 ? [99] : []) },
      }));
      const assignment = stickyAssignment(members, { [T]: partitions });
      expectBalanced(assignment, partitions);
    }
  });
});
