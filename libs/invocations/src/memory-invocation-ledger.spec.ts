import { invocationLedgerContract } from '@mesh/contract-suites';
import { MemoryInvocationLedger } from './memory-invocation-ledger';

invocationLedgerContract('in-memory', () =>
  Promise.resolve({ ledger: new MemoryInvocationLedger(), dispose: () => Promise.resolve() }),
);
