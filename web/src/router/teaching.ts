// The teaching pages of a run (classes, rosters, releases, the question bank, quizzes and the exam, the grading
// scheme, gradebooks): children of the console's frame, for teachers; the server decides which team permissions apply.
import type { RouteRecordRaw } from 'vue-router'
import { School } from '@element-plus/icons-vue'

const roles = ['teacher' as const]

export const routes: RouteRecordRaw[] = [
  {
    path: 'teacher/teaching',
    name: 'teaching',
    component: () => import('@/views/teaching/MyTeaching.vue'),
    meta: { roles, menu: 'teaching.menu.teaching', icon: School },
  },
  {
    path: 'teacher/runs/:runId/teaching',
    name: 'teaching-run',
    component: () => import('@/views/teaching/TeachingRun.vue'),
    props: true,
    meta: { roles },
  },
  {
    path: 'teacher/runs/:runId/students/:studentId/progress',
    name: 'student-progress',
    component: () => import('@/components/marks/StudentProgress.vue'),
    props: (route) => ({ runId: route.params.runId, studentId: route.params.studentId, page: true }),
    meta: { roles },
  },
]
