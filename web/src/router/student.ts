// The student's pages: my courses, a run's course page, the player, quizzes and the exam, assignments, certificates.
import type { RouteRecordRaw } from 'vue-router'
import { Medal, Notebook } from '@element-plus/icons-vue'

const roles = ['student' as const]

export const routes: RouteRecordRaw[] = [
  {
    path: 'student/courses',
    name: 'student-courses',
    component: () => import('@/views/student/MyCourses.vue'),
    meta: { roles, menu: 'student.menu.courses', icon: Notebook },
  },
  {
    path: 'student/runs/:runId',
    name: 'student-run',
    component: () => import('@/views/student/CoursePage.vue'),
    props: true,
    meta: { roles },
  },
  {
    path: 'student/runs/:runId/units/:unitId',
    name: 'student-unit',
    component: () => import('@/views/student/UnitPlayer.vue'),
    props: true,
    meta: { roles },
  },
  {
    path: 'student/runs/:runId/quizzes/:quizId',
    name: 'student-quiz',
    component: () => import('@/views/student/QuizPage.vue'),
    props: true,
    meta: { roles },
  },
  {
    path: 'student/runs/:runId/assignments/:assignmentId',
    name: 'student-assignment',
    component: () => import('@/views/student/AssignmentPage.vue'),
    props: true,
    meta: { roles },
  },
  {
    path: 'student/certificates',
    name: 'student-certificates',
    component: () => import('@/views/student/CertificatesPage.vue'),
    meta: { roles, menu: 'student.menu.certificates', icon: Medal },
  },
]
