// The admin pages' strings (English): the same keys as zh/admin.ts.
import type zh from '../zh/admin'

const en: typeof zh = {
  menu: {},
}
export default en
