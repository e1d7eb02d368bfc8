// The typed outcomes faces branch on (src/core/errors.ts): one cancellation
// with exit code 130, codes found through a wrapping error, and the not-found
// and ambiguous-id outcomes carrying what a face needs to ask again.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ambiguousId,
  CancelledError,
  hasCode,
  isCancelled,
  notFound,
  SluiceError,
} from '../../src/core/errors';

void describe('typed outcomes', () => {
  void test('a cancel is a SluiceError with code cancelled and exit code 130, in the --json envelope', () => {
    const cancel = new CancelledError("Snapshot of 'events'");
    assert.ok(cancel instanceof SluiceError);
    assert.equal(cancel.exitCode, 130);
    assert.deepEqual(cancel.toJSON(), {
      code: 'cancelled',
      message: "Snapshot of 'events' was cancelled.",
      hint: 'Nothing was recorded or left half-written; run it again when ready.',
      data: { operation: "Snapshot of 'events'" },
    });
    assert.ok(isCancelled(cancel));
    assert.ok(!isCancelled(new SluiceError('Snapshot failed.', 'failed')));
  });

  void test('a code is found through an error that wraps the outcome (a library, a next-step failure)', () => {
    const refusal = new SluiceError('Would lose 1 file.', 'failed', undefined, {
      code: 'unsaved-data',
      data: { dataset: 'events', paths: ['a.csv'] },
    });
    const wrapped = new Error('restore failed', { cause: refusal });
    assert.ok(hasCode(wrapped, 'unsaved-data'));
    assert.ok(!hasCode(wrapped, 'gate-refused'));
    assert.ok(!hasCode(new Error('unsaved-data'), 'unsaved-data'), 'a message is never a code');
  });

  void test('not-found and ambiguous-id say what was sought, and the candidates', () => {
    const missing = notFound('snapshot', 'ab12', "Dataset 'events' has no snapshot ab12.", undefined, {
      data: { dataset: 'events' },
    });
    assert.equal(missing.code, 'not-found');
    assert.equal(missing.exitCode, 2, 'a name on the command line is a usage error unless told otherwise');
    assert.deepEqual(missing.data, { sought: 'snapshot', id: 'ab12', dataset: 'events' });
    const ambiguous = ambiguousId('release', 'ab', ['ab1', 'ab2'], 'Release id ab is ambiguous.');
    assert.equal(ambiguous.code, 'ambiguous-id');
    assert.deepEqual(ambiguous.data, { sought: 'release', prefix: 'ab', candidates: ['ab1', 'ab2'] });
  });
});
