/**
 * Pending approvals, oldest first, updated live. Keyboard: j / k (or ↓ / ↑) select a row,
 * c writes a comment, a approves, d denies, o or Enter opens the action, ? shows the keys.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiFailure, serverNow, type Me } from './api.js';
import { duration, json, riskClass } from './format.js';
import { useLive, useTick } from './live.js';
import type { Approval } from './types.js';

interface List { items: Approval[]; total: number }

const typing = (t: EventTarget | null): boolean => t instanceof HTMLElement && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);

export function ApprovalsPage({ me }: { me: Me }) {
  const [list, setList] = useState<List | undefined>();
  const [error, setError] = useState('');
  const [selected, setSelected] = useState(0);
  const [notice, setNotice] = useState('');
  const [help, setHelp] = useState(false);
  const [, setNow] = useState(0);
  const canVote = me.role === 'admin' || me.role === 'approver';
  const load = useCallback(() => {
    api<List>('GET', '/approvals').then((l) => { setList(l); setError(''); }, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  useEffect(load, []);
  useLive('approvals', load);
  useTick(setNow);
  const rows = useRef<HTMLElement | null>(null);

  const vote = async (a: Approval, v: 'approve' | 'deny') => {
    const input = rows.current?.querySelector<HTMLInputElement>(`[data-approval-id="${CSS.escape(a.approval_id)}"] [data-testid="comment"]`);
    try {
      const r = await api<Approval>('POST', `/approvals/${encodeURIComponent(a.approval_id)}/${v}`, { comment: input?.value ?? '' });
      setNotice(`${v === 'approve' ? 'Approved' : 'Denied'}: ${a.action_type} on ${a.resource} (now ${r.status}${r.status === 'pending' ? `, ${r.still_needed} more approval(s) needed` : ''})`);
      load();
    } catch (e) {
      setNotice(e instanceof ApiFailure ? `Refused: ${e.message}` : 'The sidecar did not answer');
    }
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (typing(e.target)) {
        if (e.key === 'Escape') (e.target as HTMLElement).blur();
        return;
      }
      const items = list?.items ?? [];
      const a = items[selected];
      const focusRow = (i: number) => {
        setSelected(i);
        rows.current?.querySelectorAll<HTMLElement>('[data-testid="approval-row"]')[i]?.focus();
      };
      if (e.key === 'j' || e.key === 'ArrowDown') focusRow(Math.min(items.length - 1, selected + 1));
      else if (e.key === 'k' || e.key === 'ArrowUp') focusRow(Math.max(0, selected - 1));
      else if (e.key === '?') setHelp((h) => !h);
      else if (!a) return;
      else if (e.key === 'o' || e.key === 'Enter') location.hash = `#/actions/${encodeURIComponent(a.action_id)}`;
      else if (canVote && e.key === 'a') void vote(a, 'approve');
      else if (canVote && e.key === 'd') void vote(a, 'deny');
      else if (canVote && e.key === 'c') {
        rows.current?.querySelectorAll<HTMLInputElement>('[data-testid="comment"]')[selected]?.focus();
      } else return;
      e.preventDefault();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [list, selected, canVote]);

  const now = serverNow();
  return (
    <section aria-labelledby="pending-title">
      <h1 id="pending-title">Pending approvals {list && <span class="count">({list.total})</span>}</h1>
      <p class="hint">Oldest first; updates live. Keys: <kbd>j</kbd>/<kbd>k</kbd> select, <kbd>c</kbd> comment, {canVote && <><kbd>a</kbd> approve, <kbd>d</kbd> deny, </>}<kbd>o</kbd> open, <kbd>?</kbd> help.</p>
      {help && <KeyHelp canVote={canVote} />}
      {!canVote && <p class="note">You are logged in as a viewer: you can look, not vote.</p>}
      <p role="status" aria-live="polite" class="notice">{notice}</p>
      {error && <p role="alert" class="error">{error}</p>}
      {list && list.items.length === 0 && <p class="empty">Nothing is waiting for a decision.</p>}
      <div class="rows" ref={(el) => { rows.current = el; }}>
        {list?.items.map((a, i) => (
          <ApprovalRow key={a.approval_id} a={a} now={now} selected={i === selected} canVote={canVote}
            onSelect={() => setSelected(i)} onVote={(v) => vote(a, v)} />
        ))}
      </div>
    </section>
  );
}

function KeyHelp({ canVote }: { canVote: boolean }) {
  return (
    <dl class="keys" aria-label="Keyboard shortcuts">
      <dt><kbd>j</kbd> / <kbd>↓</kbd></dt><dd>next approval</dd>
      <dt><kbd>k</kbd> / <kbd>↑</kbd></dt><dd>previous approval</dd>
      <dt><kbd>o</kbd> / <kbd>Enter</kbd></dt><dd>open the action</dd>
      {canVote && <><dt><kbd>c</kbd></dt><dd>write a comment (Esc leaves the field)</dd>
        <dt><kbd>a</kbd></dt><dd>approve with the comment</dd>
        <dt><kbd>d</kbd></dt><dd>deny with the comment</dd></>}
    </dl>
  );
}

function TimeLeft({ a, now }: { a: Approval; now: number }) {
  if (!a.deadline_at) return <span>no deadline</span>;
  const left = Date.parse(a.deadline_at) - now;
  const then = a.on_timeout === 'escalate' ? 'escalates' : a.on_timeout === 'approve' ? 'approves' : 'denies';
  return <span class={left < 15 * 60_000 ? 'soon' : ''}>{left > 0 ? `${duration(left)} left, then ${then}` : `due now (${then})`}</span>;
}

interface RowProps { a: Approval; now: number; selected: boolean; canVote: boolean; onSelect: () => void; onVote: (v: 'approve' | 'deny') => void }

function ApprovalRow({ a, now, selected, canVote, onSelect, onVote }: RowProps) {
  const commentId = `comment-${a.approval_id}`;
  return (
    <article class={selected ? 'row selected' : 'row'} data-testid="approval-row" data-approval-id={a.approval_id}
      tabIndex={0} onFocusCapture={onSelect} aria-label={`${a.action_type} on ${a.resource} by ${a.agent_id ?? 'unknown agent'}`}>
      <div class="main">
        <h2><a href={`#/actions/${encodeURIComponent(a.action_id)}`}>{a.action_type}</a> <span class="on">on</span> <code>{a.resource}</code></h2>
        <dl class="facts">
          <dt>Agent</dt><dd data-field="agent">{a.agent_id ?? '(none)'}{a.agent_name ? ` (${a.agent_name})` : ''}</dd>
          <dt>Waiting</dt><dd>{duration(now - Date.parse(a.requested_at))}</dd>
          <dt>Time left</dt><dd><TimeLeft a={a} now={now} /></dd>
          <dt>Policy</dt><dd>{a.policy_name ? `${a.policy_name} (${a.policy_id})` : a.policy_id ?? '—'}</dd>
          <dt>Reason</dt><dd data-field="reason">{a.reason ?? '—'}</dd>
          <dt>Step</dt>
          <dd>{a.workflow ? `${a.workflow}: ` : ''}step {a.step} of {a.steps}{a.escalated ? ' (escalated)' : ''}; {a.still_needed} more approval(s) from {a.approvers.join(', ') || '—'}
            {a.votes.length > 0 && <> · voted: {a.votes.map((v) => `${v.approver} (${v.vote})`).join(', ')}</>}</dd>
        </dl>
        <details>
          <summary>Parameters</summary>
          <pre data-field="parameters">{json(a.parameters, 4000)}</pre>
        </details>
      </div>
      <div class="side">
        <p class={riskClass(a.risk_score)}>Risk <strong>{a.risk_score ?? '—'}</strong></p>
        <ul class="factors" aria-label="Risk factors">
          {a.risk_factors.map((f) => <li>{f.detail}: {f.points > 0 ? '+' : ''}{f.points}</li>)}
        </ul>
        {canVote && (
          <div class="vote">
            <label for={commentId}>Comment</label>
            <input id={commentId} data-testid="comment" maxLength={2000} autoComplete="off" />
            <div class="buttons">
              <button type="button" class="approve" data-testid="approve" onClick={() => onVote('approve')}>Approve</button>
              <button type="button" class="deny" data-testid="deny" onClick={() => onVote('deny')}>Deny</button>
            </div>
          </div>
        )}
      </div>
    </article>
  );
}
