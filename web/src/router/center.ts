// The provincial center's pages: the province's statistics, reviews, the MOOC registry, sharing lists, the term calendar.
import type { RouteRecordRaw } from 'vue-router'
import { Calendar, ChatLineSquare, Checked, DataAnalysis, Files, Notebook, Operation, PriceTag } from '@element-plus/icons-vue'

const roles = ['center_admin' as const]

export const routes: RouteRecordRaw[] = [
  {
    path: 'center/statistics',
    name: 'center-statistics',
    component: () => import('@/views/center/CenterStatistics.vue'),
    meta: { roles, menu: 'center.menu.statistics', icon: DataAnalysis },
  },
  {
    path: 'center/reviews',
    name: 'center-reviews',
    component: () => import('@/views/center/CenterReviews.vue'),
    meta: { roles, menu: 'center.menu.reviews', icon: Checked },
  },
  {
    path: 'center/registry',
    name: 'center-registry',
    component: () => import('@/views/center/CenterRegistry.vue'),
    meta: { roles, menu: 'center.menu.registry', icon: Notebook },
  },
  {
    path: 'center/lists',
    name: 'center-lists',
    component: () => import('@/views/center/SharingLists.vue'),
    meta: { roles, menu: 'center.menu.lists', icon: Files },
  },
  {
    path: 'center/terms',
    name: 'center-terms',
    component: () => import('@/views/center/TermsPage.vue'),
    meta: { roles, menu: 'center.menu.terms', icon: Calendar },
  },
  {
    path: 'center/categories',
    name: 'center-categories',
    component: () => import('@/views/center/CategoriesPage.vue'),
    meta: { roles, menu: 'policies.menu.categories', icon: PriceTag },
  },
  {
    path: 'center/policy',
    name: 'center-policy',
    component: () => import('@/views/center/ProvincePolicy.vue'),
    meta: { roles, menu: 'policies.menu.provincePolicy', icon: Operation },
  },
  {
    path: 'center/blocked-words',
    name: 'center-blocked-words',
    component: () => import('@/views/center/BlockedWords.vue'),
    meta: { roles, menu: 'center.menu.blockedWords', icon: ChatLineSquare },
  },
]
