// The console's lists strings (Chinese): lists read page by page, and the school admin's take-down and withdrawal.
export default {
  forum: { shown: '已显示 {n} 条回复', moreReplies: '更多回复' },
  sharing: {
    withdraw: '撤回',
    withdrawConfirm: '撤回“{name}”的申报？撤回后可重新申报。',
    withdrawn: '申报已撤回',
    resubmit: '重新提交',
    resubmitted: '已重新提交给课程中心',
  },
  runs: {
    show: '查看开课',
    title: '{name} 的开课',
    term: '学期',
    takeDown: '下线',
    reason: '下线理由',
    confirm: '将 {name}（{term}）下线：学生将无法再进入，理由会告知课程团队。',
    takenDown: '已下线',
  },
  applications: {
    status: '申请状态',
    notInQueue: '审核队列中找不到“{name}”的待审项（可能已被处理），列表已刷新。',
  },
  teaching: { moreCourses: '已列出 {n} / {total} 门课程的开课' },
}
