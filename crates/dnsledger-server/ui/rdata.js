// Which part of a record's rdata is a name or an address worth pivoting on.

/** The field of the (space-separated) rdata that holds a name, by record type. */
const NAME_FIELD = {
  NS: 0,
  CNAME: 0,
  DNAME: 0,
  PTR: 0,
  SOA: 0, // the primary nameserver (mname); the mailbox is not a host
  MX: 1,
  SVCB: 1,
  HTTPS: 1,
  SRV: 3,
};

/** Servers: the natural next question is which domains use them (an rdata lookup). */
const SERVER_TYPES = new Set(['NS', 'MX']);

/**
 * Splits one rdata string around its pivot: {before, target, after, kind} with kind
 * `address` (A, AAAA), `server` (an NS or MX target) or `name`; null when nothing pivots.
 */
export function pivotPoint(rrtype, rdata) {
  if (rrtype === 'A' || rrtype === 'AAAA') {
    return { before: '', target: rdata, after: '', kind: 'address' };
  }
  const index = NAME_FIELD[rrtype];
  if (index === undefined) return null;
  const fields = rdata.split(' ');
  const target = fields[index];
  // "." is the empty target (SRV "no service", SVCB "same name"): nothing to follow.
  if (!target || target === '.') return null;
  const before = fields.slice(0, index);
  const after = fields.slice(index + 1);
  return {
    before: before.length ? `${before.join(' ')} ` : '',
    target,
    after: after.length ? ` ${after.join(' ')}` : '',
    kind: SERVER_TYPES.has(rrtype) ? 'server' : 'name',
  };
}
