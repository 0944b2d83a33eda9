import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { Bell, Reading, User } from '@element-plus/icons-vue'
import './meta'
import { session, type Role } from '@/session'
import { loadMe } from '@/account'
import ConsoleLayout from '@/layouts/ConsoleLayout.vue'
import { routes as studentRoutes } from './student'
import { routes as teacherRoutes } from './teacher'
import { routes as teachingRoutes } from './teaching'
import { routes as adminRoutes } from './admin'
import { routes as collegeRoutes } from './college'
import { routes as projectRoutes } from './projects'
import { routes as centerRoutes } from './center'
import { routes as platformRoutes } from './platform'

/** Where each role lands after signing in. */
export const HOME: Record<Role, string> = {
  student: '/student/courses',
  teacher: '/teacher/courses',
  college_admin: '/college/reviews',
  school_admin: '/admin/reviews',
  center_admin: '/center/statistics',
  platform_admin: '/platform/applications',
}

const publicPages: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('@/views/common/LoginPage.vue'), meta: { public: true } },
  { path: '/forgot', name: 'forgot', component: () => import('@/views/common/ForgotPassword.vue'), meta: { public: true } },
  { path: '/reset-password', name: 'reset', component: () => import('@/views/common/ResetPassword.vue'), meta: { public: true } },
  { path: '/register/teacher', name: 'register-teacher', component: () => import('@/views/common/RegisterTeacher.vue'), meta: { public: true } },
  { path: '/register/learner', name: 'register-learner', component: () => import('@/views/common/RegisterLearner.vue'), meta: { public: true } },
  { path: '/apply', name: 'apply-school', component: () => import('@/views/common/SchoolApplication.vue'), meta: { public: true } },
]

const consolePages: RouteRecordRaw = {
  path: '/',
  component: ConsoleLayout,
  children: [
    { path: '', name: 'home', redirect: () => (session.me ? HOME[session.me.role] : '/login') },
    { path: 'password', name: 'change-password', component: () => import('@/views/common/ChangePassword.vue') },
    { path: 'profile', name: 'profile', component: () => import('@/views/common/ProfilePage.vue'), meta: { menu: 'common.menu.profile', icon: User } },
    { path: 'sharing', name: 'sharing', component: () => import('@/views/common/SharingSearch.vue'), meta: { menu: 'common.menu.sharing', icon: Reading } },
    { path: 'sharing/entries/:entryId', name: 'sharing-entry', component: () => import('@/views/common/SharingEntry.vue'), props: true },
    { path: 'inbox', name: 'inbox', component: () => import('@/views/common/InboxPage.vue'), meta: { menu: 'common.menu.inbox', icon: Bell } },
    { path: 'runs/:runId/forum/:threadId?', name: 'forum', component: () => import('@/views/common/ForumPage.vue'), props: true },
    ...studentRoutes,
    ...teacherRoutes,
    ...teachingRoutes,
    ...collegeRoutes,
    ...projectRoutes,
    ...adminRoutes,
    ...centerRoutes,
    ...platformRoutes,
    { path: ':rest(.*)*', name: 'not-found', component: () => import('@/views/common/NotFound.vue') },
  ],
}

export const router = createRouter({
  history: createWebHistory(),
  routes: [...publicPages, consolePages],
})

router.beforeEach(async (to) => {
  // links mailed as /#/reset-password?token=… (the identity service's form) open the page they name
  if (to.hash.startsWith('#/')) return to.hash.slice(1)
  if (to.meta.public) return true
  if (!session.accessToken) return { name: 'login', query: { next: to.fullPath } }
  if (!session.me) {
    try {
      await loadMe()
    } catch {
      return { name: 'login', query: { next: to.fullPath } }
    }
  }
  const me = session.me
  if (!me) return { name: 'login' }
  if (me.must_change_password && to.name !== 'change-password') return { name: 'change-password' }
  if (to.meta.roles && !to.meta.roles.includes(me.role)) return { name: 'not-found', params: { rest: ['forbidden'] } }
  return true
})
