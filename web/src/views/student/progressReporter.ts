// Reports what a <video> really played, as the learning service counts it: segments of the play from where playing
// started to where it is now, every heartbeat while playing and on pause, seek and end; each with a sequence
// number from 1 (a segment sent again is answered, not counted twice) and whether the page was hidden meanwhile.
// Segments that could not be sent are kept and sent again with the next ones.
import { session, refreshIfDue } from '@/session'
import type { components } from '@/api/schema'

export type Receipt = components['schemas']['LearningProgressReceipt']
type Segment = components['schemas']['SegmentBody']
type SegmentEvent = NonNullable<Segment['event']>

export class ProgressReporter {
  private seq = 0
  private from: number | null = null
  private hiddenMeanwhile = false
  private sending = false
  readonly pending: Segment[] = []

  constructor(
    private readonly playId: string,
    private readonly heartbeatSeconds: number,
    private readonly onReceipt: (receipt: Receipt) => void,
    private readonly onQueued: (count: number) => void = () => {},
  ) {}

  /** Playing starts (or resumes) at `position`. */
  start(position: number): void {
    if (this.from === null) {
      this.from = position
      this.hiddenMeanwhile = document.visibilityState === 'hidden'
    }
  }

  /** The video moved to `position` while playing: a heartbeat once a segment is long enough. */
  progress(position: number): void {
    if (this.from !== null && position - this.from >= this.heartbeatSeconds) this.cut(position, 'heartbeat', false)
  }

  /** The page was hidden or shown: the segment so far is closed, the next one carries the new state. */
  visibilityChanged(position: number): void {
    if (this.from === null) return
    if (document.visibilityState === 'hidden') this.hiddenMeanwhile = true
    this.cut(position, 'heartbeat', false)
    this.hiddenMeanwhile = document.visibilityState === 'hidden'
  }

  /** Playing stops at `position` (pause, a seek away from it, or the end). */
  stop(position: number, event: SegmentEvent, keepalive = false): void {
    this.cut(position, event, true, keepalive)
  }

  private cut(position: number, event: SegmentEvent, stops: boolean, keepalive = false): void {
    if (this.from === null) return
    const from = this.from
    const to = Math.max(from, position)
    this.from = stops ? null : to
    if (to - from < 0.05 && event === 'heartbeat') return
    this.seq += 1
    this.pending.push({ seq: this.seq, from_seconds: from, to_seconds: to, hidden: this.hiddenMeanwhile, event })
    this.hiddenMeanwhile = document.visibilityState === 'hidden'
    void this.flush(keepalive)
  }

  /** Sends what is pending; on failure keeps it for the next try. */
  async flush(keepalive = false): Promise<void> {
    if ((this.sending && !keepalive) || !this.pending.length) return
    this.sending = true
    const batch = this.pending.slice(0, 500)
    try {
      if (!keepalive) await refreshIfDue()
      const response = await fetch(`/api/v1/learning/plays/${this.playId}/progress`, {
        method: 'POST',
        keepalive, // a page being closed still delivers its last segment
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${session.accessToken}` },
        body: JSON.stringify({ segments: batch }),
      })
      if (response.ok) {
        this.pending.splice(0, batch.length)
        this.onReceipt((await response.json()) as Receipt)
      } else if (response.status < 500 && response.status !== 429) {
        this.pending.splice(0, batch.length) // refused as a whole (e.g. the play expired): sending again won't help
      }
    } catch {
      // offline: kept, sent with the next segment
    } finally {
      this.sending = false
      this.onQueued(this.pending.length)
    }
  }
}
