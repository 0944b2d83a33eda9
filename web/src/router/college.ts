// The college admin's pages (a college's teaching secretary, 学院): recommending the college's course-building applications.
import type { RouteRecordRaw } from 'vue-router'
import { Checked } from '@element-plus/icons-vue'

const roles = ['college_admin' as const]

export const routes: RouteRecordRaw[] = [
  {
    path: 'college/reviews',
    name: 'college-reviews',
    component: () => import('@/views/college/CollegeReviews.vue'),
    meta: { roles, menu: 'common.college.menu.reviews', icon: Checked },
  },
]
