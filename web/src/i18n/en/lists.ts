// The console's lists strings (English): lists read page by page, and the school admin's take-down and withdrawal.
export default {
  forum: { shown: '{n} replies shown', moreReplies: 'More replies' },
  sharing: {
    withdraw: 'Withdraw',
    withdrawConfirm: 'Withdraw the nomination of “{name}”? You can nominate it again.',
    withdrawn: 'Nomination withdrawn',
    resubmit: 'Resubmit',
    resubmitted: 'Sent back to the center',
  },
  runs: {
    show: 'Runs',
    title: 'Runs of {name}',
    term: 'Term',
    takeDown: 'Take down',
    reason: 'Reason',
    confirm: 'Take {name} ({term}) down: students can no longer enter it; the team is told the reason.',
    takenDown: 'Taken down',
  },
  applications: {
    status: 'Application status',
    notInQueue: 'No pending review item for “{name}” (it may have been decided already); the list was refreshed.',
  },
  teaching: { moreCourses: 'Runs of {n} of {total} courses listed' },
}
