// The policy numbers as the console shows them: grouped by what they govern, each with the kind of input it
// takes (a number, a whole number, "not counted" allowed, or one of named settings). The API checks the values.
import { useI18n } from 'vue-i18n'

export type PolicyValue = number | string | null

export interface NumberShape {
  name: string
  integer?: boolean
  /** null ("not counted", no such requirement) is a value the API accepts */
  nullable?: boolean
  /** a named setting: one of these names */
  choices?: readonly string[]
}

export const VIDEO_SPECS = ['default', 'zhejiang', 'henan', 'changsha'] as const

export const GROUPS: { key: string; numbers: NumberShape[] }[] = [
  {
    key: 'credits',
    numbers: [
      { name: 'minutes_per_credit' },
      { name: 'min_class_hours_per_credit', nullable: true },
      { name: 'mooc_application_min_video_minutes' },
    ],
  },
  {
    key: 'videos',
    numbers: [
      { name: 'video_recommended_min_minutes' },
      { name: 'video_recommended_max_minutes' },
      { name: 'video_max_minutes' },
      { name: 'video_max_minutes_at_acceptance' },
      { name: 'video_min_minutes_at_acceptance' },
      { name: 'videos_per_class_hour_min', integer: true, nullable: true },
      { name: 'video_per_class_hour_min_minutes', nullable: true },
      { name: 'video_per_class_hour_max_minutes', nullable: true },
    ],
  },
  {
    key: 'mediaSpec',
    numbers: [{ name: 'video_spec', choices: VIDEO_SPECS }, { name: 'video_min_height_at_acceptance', integer: true }],
  },
  { key: 'enrolment', numbers: [{ name: 'max_concurrent_online_courses', integer: true, nullable: true }] },
  { key: 'learning', numbers: [{ name: 'video_complete_slack_seconds' }, { name: 'pass_mark' }] },
  {
    key: 'peer',
    numbers: [
      { name: 'peer_reviews_each', integer: true },
      { name: 'peer_reviews_needed', integer: true },
      { name: 'peer_lease_hours' },
      { name: 'peer_spread_percent' },
      { name: 'peer_relax_after_hours' },
      { name: 'peer_relaxed_reviews_needed', integer: true },
      { name: 'peer_missed_review_percent', nullable: true },
    ],
  },
  { key: 'forum', numbers: [{ name: 'forum_answer_working_days', integer: true }] },
  {
    key: 'atRisk',
    numbers: [
      { name: 'at_risk_inactive_days', integer: true, nullable: true },
      { name: 'at_risk_behind_points', nullable: true },
      { name: 'at_risk_missed_items', integer: true, nullable: true },
      { name: 'at_risk_pace_days', integer: true, nullable: true },
      { name: 'at_risk_reminder_days', integer: true },
    ],
  },
  {
    key: 'evaluation',
    numbers: [{ name: 'evaluation_good_score' }, { name: 'evaluation_terms_below', integer: true }],
  },
  {
    key: 'projects',
    numbers: [
      { name: 'project_budget_yuan' },
      { name: 'project_period_months', integer: true },
      { name: 'project_build_months', integer: true },
      { name: 'project_rectify_days', integer: true },
      { name: 'project_bar_years', integer: true },
      { name: 'project_research_meetings_cap_percent' },
      { name: 'project_labour_cap_percent' },
      { name: 'leader_video_share_min_percent' },
    ],
  },
]

export const KNOWN = new Set(GROUPS.flatMap((g) => g.numbers.map((n) => n.name)))

/** The numbers named in a refusal's detail (the API names them as they are spelt: `pass_mark (…) is …`). */
export function namedIn(detail: string, names: Iterable<string>): string[] {
  return [...names].filter((name) => new RegExp(`(^|[^a-z_])${name}([^a-z_]|$)`).test(detail))
}

/** Labels, units and values of the policy numbers in the current language. */
export function usePolicyText() {
  const { t, te } = useI18n()
  const known = (name: string) => te(`policies.numbers.${name}.label`)
  const label = (name: string, meaning = '') => (known(name) ? t(`policies.numbers.${name}.label`) : meaning || name)
  const unit = (name: string) => (known(name) ? t(`policies.numbers.${name}.unit`) : '')
  const spec = (value: string) => (te(`policies.videoSpecs.${value}`) ? t(`policies.videoSpecs.${value}`) : value)
  function show(name: string, value: PolicyValue | undefined): string {
    if (value === null || value === undefined) return t('policies.editor.notCounted')
    if (typeof value === 'string') return spec(value)
    return [String(value), unit(name)].filter(Boolean).join(' ')
  }
  const layerName = (layer: string) => (te(`policies.layers.${layer}`) ? t(`policies.layers.${layer}`) : layer)
  return { label, unit, spec, show, layerName }
}
