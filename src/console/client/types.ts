/** The console API's shapes, as far as the pages read them. */

export interface RiskFactor { factor: string; detail: string; points: number }
export interface Vote { approver: string; vote: 'approve' | 'deny'; comment: string | null; step: number; escalated: boolean; at: string }

export interface Approval {
  approval_id: string;
  action_id: string;
  agent_id: string | null;
  agent_name: string | null;
  action_type: string;
  resource: string;
  parameters: Record<string, unknown>;
  context: Record<string, unknown>;
  policy_id: string | null;
  policy_name: string | null;
  risk_score: number | null;
  risk_factors: RiskFactor[];
  status: 'pending' | 'approved' | 'denied';
  reason: string | null;
  workflow: string | null;
  step: number;
  steps: number;
  escalated: boolean;
  approvers: string[];
  required: number;
  still_needed: number;
  on_timeout: string;
  requested_at: string;
  deadline_at: string | null;
  decided_at: string | null;
  votes: Vote[];
}
