/**
 * One query through the proxy, whatever the transport: decode, identify the client, check the policy,
 * forward, check the answer, learn, answer — and one record of it.
 *
 * Contract of `handle(bytes, client, forward)` (never rejects; resolves with the message to send back to
 * the client, or undefined to send nothing):
 * - undecodable bytes → dropped (`malformed`); a response (QR set) → dropped (`notQueries`); no record.
 * - more than `maxInFlight` queries being handled → SERVFAIL (`overloaded`).
 * - `resolveClient` undefined → REFUSED, never forwarded.
 * - anything but one question → FORMERR; an opcode other than QUERY → NOTIMP (neither is forwarded).
 * - `allowQuery` denies → REFUSED, never forwarded; allowed → `forward(bytes, original)` over the
 *   caller's transport (`bytes` is then owned by forward).
 * - upstream timeout or failure, an answer dns-packet cannot decode or whose question is not the query's
 *   (an answer without a question section passes only when it holds no answer records) → SERVFAIL. A callback that throws → SERVFAIL (fail closed).
 * - an answer whose CNAME chain (dns-answer.ts) ends in addresses: `learn(endpoint, answer)` is awaited
 *   before the answer is returned; a rejection → SERVFAIL (`learnFailures`). Otherwise (NXDOMAIN, no
 *   address, a truncated answer without one) the answer is returned without learning.
 * - the answer returned is the upstream's message byte for byte (the client's id restored).
 * - each decoded query yields one `onRecord` call when its answer is decided (latencyMs from arrival).
 */
import { performance } from 'node:perf_hooks';
import { followAnswerChain } from './dns-answer.js';
import { canonicalDnsName, decodeDnsMessage, encodeRejection, sameQuestion, type DnsMessage, type ProxyRcode } from './dns-message.js';
import { UpstreamTimeoutError } from './pending-exchanges.js';
import type { DnsClient, DnsDestination, DnsProxyOptions, DnsProxyStats, DnsRecord, PolicyRef, ResolvedClient, UpstreamOwner } from './types.js';

/** `owner`: the upstreamOwner of the query's endpoint (undefined: none given) */
export type Forward = (query: Buffer, destination: DnsDestination, owner?: UpstreamOwner) => Promise<Buffer>;

type Callbacks<Endpoint> = Pick<DnsProxyOptions<Endpoint>, 'resolveClient' | 'allowQuery' | 'learn' | 'onRecord' | 'upstreamOwner'>;

interface Outcome<Endpoint> {
  reply: Buffer;
  endpoint: Endpoint | undefined;
  original?: DnsDestination;
  rcode: string;
  verdict: DnsRecord<Endpoint>['verdict'];
  ips?: string[];
  /** the CNAME targets on the chain from the question to its addresses */
  cnames?: string[];
  ttl?: number;
  ruleId?: number;
  policy?: PolicyRef;
  audit?: boolean;
  learnMs?: number;
}

export function emptyStats(): DnsProxyStats {
  return {
    queries: 0, forwarded: 0, refused: 0, errors: 0, malformed: 0, notQueries: 0, overloaded: 0, upstreamTimeouts: 0,
    upstreamErrors: 0, mismatchedAnswers: 0, unmatchedUpstream: 0, learnFailures: 0, repliesLost: 0, recordErrors: 0,
    socketErrors: 0, slowClientsClosed: 0, inFlight: 0,
  };
}

export class DnsQueryHandler<Endpoint> {
  constructor(
    private readonly callbacks: Callbacks<Endpoint>,
    private readonly maxInFlight: number,
    readonly stats: DnsProxyStats,
  ) {}

  async handle(bytes: Buffer, client: DnsClient, forward: Forward): Promise<Buffer | undefined> {
    const arrived = performance.now();
    const time = Date.now();
    const query = decodeDnsMessage(bytes);
    if (query === undefined) {
      this.stats.malformed++;
      return undefined;
    }
    if (query.type === 'response') {
      this.stats.notQueries++;
      return undefined;
    }
    this.stats.queries++;
    let outcome: Outcome<Endpoint>;
    if (this.stats.inFlight >= this.maxInFlight) {
      this.stats.overloaded++;
      outcome = this.reject(query, undefined, 'SERVFAIL', 'error');
    } else {
      this.stats.inFlight++;
      let resolved: ResolvedClient<Endpoint> | undefined;
      try {
        resolved = this.callbacks.resolveClient(client);
        outcome = resolved === undefined
          ? this.reject(query, undefined, 'REFUSED', 'refused')
          : await this.decideFor(bytes, query, client, forward, resolved.endpoint, resolved.original);
      } catch {
        outcome = this.reject(query, resolved?.endpoint, 'SERVFAIL', 'error'); // a callback threw: fail closed
      } finally {
        this.stats.inFlight--;
      }
      if (resolved !== undefined) outcome.original = resolved.original;
    }
    if (outcome.verdict === 'forwarded') this.stats.forwarded++;
    else if (outcome.verdict === 'refused') this.stats.refused++;
    else this.stats.errors++;
    this.emit(query, client, time, arrived, outcome);
    return outcome.reply;
  }

  private async decideFor(
    bytes: Buffer, query: DnsMessage, client: DnsClient, forward: Forward, endpoint: Endpoint, original: DnsDestination,
  ): Promise<Outcome<Endpoint>> {
    const questions = query.questions ?? [];
    const question = questions[0];
    if (question === undefined || questions.length !== 1) return this.reject(query, endpoint, 'FORMERR', 'error');
    if (query.opcode !== undefined && query.opcode !== 'QUERY') return this.reject(query, endpoint, 'NOTIMP', 'error');

    const decision = this.callbacks.allowQuery(endpoint, canonicalDnsName(question.name), question.type, original, client.transport);
    const deciding = { ruleId: decision.ruleId, policy: decision.policy, audit: decision.allowed && decision.audit === true ? true : undefined };
    if (!decision.allowed) return this.decided(this.reject(query, endpoint, 'REFUSED', 'refused'), deciding);

    let reply: Buffer;
    try {
      reply = await forward(bytes, original, this.callbacks.upstreamOwner?.(endpoint));
    } catch (error) {
      if (error instanceof UpstreamTimeoutError) this.stats.upstreamTimeouts++;
      else this.stats.upstreamErrors++;
      return this.decided(this.reject(query, endpoint, 'SERVFAIL', 'error'), deciding);
    }
    const answer = decodeDnsMessage(reply);
    if (answer === undefined) {
      this.stats.upstreamErrors++;
      return this.decided(this.reject(query, endpoint, 'SERVFAIL', 'error'), deciding);
    }
    const answered = answer.questions?.[0];
    // some servers omit the question section from error answers (FORMERR, REFUSED, …): such an answer
    // passes when it carries no answer records, since there is nothing in it to learn
    const recordless = answered === undefined && (answer.answers ?? []).length === 0;
    if (answer.type !== 'response' || !(recordless || sameQuestion(question, answered))) {
      this.stats.mismatchedAnswers++;
      return this.decided(this.reject(query, endpoint, 'SERVFAIL', 'error'), deciding);
    }

    const learned = followAnswerChain(question.name, answer.answers ?? []);
    let learnMs: number | undefined;
    if (learned.ips.length > 0) {
      const learnStarted = performance.now();
      try {
        await this.callbacks.learn(endpoint, learned);
        learnMs = performance.now() - learnStarted;
      } catch {
        this.stats.learnFailures++;
        const failed = this.decided(this.reject(query, endpoint, 'SERVFAIL', 'error'), deciding);
        failed.learnMs = performance.now() - learnStarted;
        return failed;
      }
    }
    return {
      reply, endpoint, rcode: answer.rcode ?? 'NOERROR', verdict: 'forwarded', ips: learned.ips, cnames: learned.names.length > 1 ? learned.names.slice(1) : undefined, ttl: learned.ttl,
      ruleId: deciding.ruleId, policy: deciding.policy, audit: deciding.audit, learnMs,
    };
  }

  /** The outcome with the policy decision that led to it. */
  private decided(outcome: Outcome<Endpoint>, deciding: Pick<Outcome<Endpoint>, 'ruleId' | 'policy' | 'audit'>): Outcome<Endpoint> {
    outcome.ruleId = deciding.ruleId;
    outcome.policy = deciding.policy;
    outcome.audit = deciding.audit;
    return outcome;
  }

  private reject(query: DnsMessage, endpoint: Endpoint | undefined, rcode: ProxyRcode, verdict: Outcome<Endpoint>['verdict']): Outcome<Endpoint> {
    return { reply: encodeRejection(query, rcode), endpoint, rcode, verdict };
  }

  private emit(query: DnsMessage, client: DnsClient, time: number, arrived: number, outcome: Outcome<Endpoint>): void {
    const onRecord = this.callbacks.onRecord;
    if (onRecord === undefined) return;
    const questions = query.questions ?? [];
    const record: DnsRecord<Endpoint> = {
      time,
      endpoint: outcome.endpoint,
      transport: client.transport,
      qname: questions[0] === undefined ? '' : canonicalDnsName(questions[0].name),
      qtypes: questions.map((q) => q.type),
      rcode: outcome.rcode,
      ips: outcome.ips ?? [],
      ttl: outcome.ttl ?? 0,
      verdict: outcome.verdict,
      latencyMs: performance.now() - arrived,
    };
    if (outcome.original !== undefined) record.original = outcome.original;
    if (outcome.ruleId !== undefined) record.ruleId = outcome.ruleId;
    if (outcome.policy !== undefined) record.policy = outcome.policy;
    if (outcome.audit === true) record.audit = true;
    if (outcome.learnMs !== undefined) record.learnMs = outcome.learnMs;
    if (outcome.cnames !== undefined && outcome.cnames.length > 0) record.cnames = outcome.cnames;
    try {
      onRecord(record);
    } catch {
      this.stats.recordErrors++;
    }
  }
}
