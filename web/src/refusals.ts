// What the API refused, in the reader's language. A problem's reason code reads as the errors catalogue's text,
// filled with the numbers and names its detail carries (problems carry them only in the detail); a problem without
// a code reads by its HTTP status where that says enough; anything else reads as the server wrote it.
import { i18n } from '@/i18n'
import { dateTime } from '@/format'

type Params = Record<string, string>

const TIME = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d UTC`
const DAY = String.raw`\d{4}-\d\d-\d\d`
const NUMBER = String.raw`\d[\d,]*(?:\.\d+)?`

/** Where a reason's detail carries numbers or names: the first pattern that matches fills `errors.detailed.<key>`;
 * when none matches (the server's wording changed) the reason reads as its plain `errors.reasons.<code>`. */
const DETAILS: Record<string, [RegExp, string][]> = {
  ACCOUNT_LOCKED: [[new RegExp(`locked until (?<time>${TIME})`), 'ACCOUNT_LOCKED']],
  PASSWORD_CHANGE_LOCKED: [[new RegExp(`again after (?<time>${TIME})`), 'PASSWORD_CHANGE_LOCKED']],
  REGISTRATION_REJECTED: [[/rejected: (?<why>.+)$/s, 'REGISTRATION_REJECTED']],
  VERIFICATION_CODE_WRONG: [[/: (?<n>\d+) tries left/, 'VERIFICATION_CODE_WRONG']],
  VERIFICATION_CODE_INVALID: [[/has (?<n>\d+) digits/, 'VERIFICATION_CODE_INVALID']],
  VERIFICATION_CODE_RATE_LIMITED: [
    [/ask again in (?<seconds>\d+) s\b/, 'RATE_LIMITED'],
    [/^(?<n>\d+) codes were mailed within the hour/, 'VERIFICATION_CODES_PER_HOUR'],
  ],
  CHAPTER_NOT_RELEASED: [
    [new RegExp(`the chapter (?<title>.*) is not released to your class; it opens at (?<time>${TIME})`), 'CHAPTER_NOT_RELEASED'],
    [/the chapter (?<title>.*) is not released to your class; no release date/, 'CHAPTER_NOT_RELEASED_UNDATED'],
  ],
  QUIZ_NOT_OPEN: [[new RegExp(`opens at (?<time>${TIME})`), 'QUIZ_NOT_OPEN']],
  QUIZ_CLOSED: [[new RegExp(`closed at (?<time>${TIME})`), 'QUIZ_CLOSED']],
  NO_ATTEMPTS_LEFT: [[/\((?<n>\d+) allowed\)/, 'NO_ATTEMPTS_LEFT']],
  COURSE_HOURS_INCOMPLETE: [[
    /^(?<share>\d+)% of the course hours done \((?<done>[\d.]+) of (?<total>[\d.]+) minutes\).*remaining: (?<remaining>.*?)(?: and (?<more>\d+) more)?$/s,
    'COURSE_HOURS_INCOMPLETE',
  ]],
  TOO_MANY_COURSES: [[
    /already take (?<count>\d+) online courses at once.*?\(\w+ (?<limit>[\d.]+)[^)]*\): (?<courses>.*)$/s,
    'TOO_MANY_COURSES',
  ]],
  CREDITS_NOT_COVERED: [[
    new RegExp(`(?<credits>${NUMBER}) online credits need (?<needed>${NUMBER}) minutes of approved video and .*? has (?<has>${NUMBER}) \\(`),
    'CREDITS_NOT_COVERED',
  ]],
  RUN_NOT_APPROVED: [[/^the run is (?<state>\w+);/, 'RUN_NOT_APPROVED']],
  BAD_RUN_TRANSITION: [[/a run that is (?<from>\w+) cannot become (?<to>\w+)/, 'BAD_RUN_TRANSITION']],
  COURSE_STOPPED: [[
    new RegExp(`the course (?<course>.+) was stopped from opening new runs by its school on (?<day>${DAY}) \\((?<why>.*)\\); it opens`, 's'),
    'COURSE_STOPPED',
  ]],
  LEADER_SUSPENDED: [[/the courses (?<courses>.+) you lead are stopped/s, 'LEADER_SUSPENDED']],
  LEADER_BARRED: [[new RegExp(`apply again from (?<day>${DAY})`), 'LEADER_BARRED']],
  SPENDING_CAP: [[
    new RegExp(`at most (?<cap>${NUMBER}) yuan of the (?<budget>${NUMBER}) budget; (?<spent>${NUMBER}) is spent, (?<amount>${NUMBER}) more`),
    'SPENDING_CAP',
  ]],
  SPENDING_OVER_RELEASED: [[
    new RegExp(`^(?<released>${NUMBER}) yuan has been released so far and (?<spent>${NUMBER}) is spent; (?<amount>${NUMBER}) more`),
    'SPENDING_OVER_RELEASED',
  ]],
  FILE_TOO_LARGE: [
    [/the file is (?<size>[\d.]+) MB; one file may be at most (?<limit>[\d.]+) MB/, 'FILE_TOO_LARGE'],
    [/^(?<name>.+) is larger than (?<limit>\d+) MiB/s, 'ATTACHMENT_TOO_LARGE'],
  ],
  EMPTY_FILE: [[/^(?<name>.+) is empty$/s, 'EMPTY_FILE']],
  FILE_TYPE_REFUSED: [[/^(?<name>.+): attach PDF/s, 'FILE_TYPE_REFUSED']],
  TOO_MANY_FILES: [[/at most (?<n>\d+) files/, 'TOO_MANY_FILES']],
  BAD_SUBTITLES: [[/have (?<n>\d+) problem/, 'BAD_SUBTITLES']],
  TRADITIONAL_CHARACTERS: [[/and the (?<standard>.+?) standard/, 'TRADITIONAL_CHARACTERS']],
  REVIEWS_DONE: [[/done the (?<n>\d+) reviews/, 'REVIEWS_DONE']],
  EVALUATION_NOT_OPEN: [[new RegExp(`opens on (?<day>${DAY}) \\(the last (?<n>\\d+) days`), 'EVALUATION_NOT_OPEN']],
  EVALUATION_CLOSED: [[new RegExp(`closed on (?<day>${DAY})`), 'EVALUATION_CLOSED']],
  BLOCKED_WORDS: [[/blocked words: (?<words>.+?); change it/s, 'BLOCKED_WORDS']],
  EXPORT_TOO_LARGE: [[/has (?<rows>\d+) rows, more than (?<max>\d+)/, 'EXPORT_TOO_LARGE']],
  NODE_HAS_CHILDREN: [[/has (?<n>\d+) child(?:ren)? \((?<all>\d+) nodes/, 'NODE_HAS_CHILDREN']],
  PLAN_TOO_DEEP: [[/at most (?<n>\d+) levels/, 'PLAN_TOO_DEEP']],
  TITLE_TOO_LONG: [[/at most (?<max>\d+) characters; this one has (?<n>\d+)/, 'TITLE_TOO_LONG']],
  TERM_OVER: [[/the term (?<term>\S+) is over/, 'TERM_OVER']],
  UNKNOWN_TERM: [[/^(?<term>\S+) is not in the provincial center's term calendar/, 'UNKNOWN_TERM']],
  LATE_REASON_REQUIRED: [[new RegExp(`due by (?<day>${DAY})`), 'LATE_REASON_REQUIRED']],
  APPLICATION_NOT_READY: [
    [/needs (?<minutes>[\d.]+) minutes of approved video; it has (?<has>[\d.]+).*needs at least (?<runs>\d+) run; it has (?<ran>\d+)/s,
      'APPLICATION_NOT_READY_BOTH'],
    [/needs (?<minutes>[\d.]+) minutes of approved video; it has (?<has>[\d.]+)/, 'APPLICATION_NOT_READY_VIDEO'],
    [/needs at least (?<runs>\d+) run; it has (?<ran>\d+)/, 'APPLICATION_NOT_READY_RUNS'],
  ],
  PROJECT_EXISTS: [[/already has a project \((?<state>\w+)\)/, 'PROJECT_EXISTS']],
}

/** Refusals without a reason code that their HTTP status explains (the rate limit, a body too large, ...). */
const STATUS_DETAILS: Record<number, [RegExp, string][]> = {
  413: [[/larger than (?<bytes>\d+) bytes/, 'TOO_LARGE']],
  429: [[/try again in (?<seconds>\d+) s\b/, 'RATE_LIMITED']],
}
const STATUSES = [401, 403, 404, 408, 413, 429, 500, 501, 503, 504]

const { t, te } = i18n.global

function filled(groups: Record<string, string | undefined>): Params {
  const params: Params = {}
  for (const [name, value] of Object.entries(groups)) {
    let text = value ?? ''
    if (name === 'time' && text.endsWith(' UTC')) text = dateTime(`${text.slice(0, -4).replace(' ', 'T')}:00Z`)
    else if ((name === 'state' || name === 'from' || name === 'to') && te(`teacher.runs.states.${text}`)) text = t(`teacher.runs.states.${text}`)
    else if (name === 'more') text = value ? t('errors.andMore', { n: value }) : ''
    else if (name === 'bytes') text = megabytes(Number(value))
    params[name] = text
  }
  return params
}

function detailed(patterns: [RegExp, string][] | undefined, detail: string): string {
  for (const [pattern, key] of patterns ?? []) {
    const match = pattern.exec(detail)
    if (match) return t(`errors.detailed.${key}`, filled(match.groups ?? {}))
  }
  return ''
}

/** The problem (status, body) as the reader reads it; '' when the catalogue has nothing better than the server's. */
export function refusalText(status: number, body: Record<string, unknown>): string {
  const reason = typeof body.reason === 'string' ? body.reason : ''
  const detail = typeof body.detail === 'string' ? body.detail : ''
  if (reason === 'VALIDATION_FAILED') {
    const fields = Array.isArray(body.errors) ? (body.errors as { field?: string }[]).map((e) => e.field).filter(Boolean) : []
    return fields.length ? t('errors.validation', { fields: fields.join(t('errors.listSeparator')) }) : t('errors.reasons.VALIDATION_FAILED')
  }
  if (reason) {
    const text = detailed(DETAILS[reason], detail)
    if (text) return text
    return te(`errors.reasons.${reason}`) ? t(`errors.reasons.${reason}`) : ''
  }
  const text = detailed(STATUS_DETAILS[status], detail)
  if (text) return text
  return STATUSES.includes(status) ? t(`errors.statuses.s${status}`) : ''
}

/** A byte count as the console writes sizes. */
export function megabytes(bytes: number): string {
  return t('errors.units.megabytes', { n: Math.round((bytes / (1024 * 1024)) * 10) / 10 })
}

export function kilobytes(bytes: number): string {
  return t('errors.units.kilobytes', { n: Math.max(1, Math.ceil(bytes / 1024)) })
}
