// The teaching pages' strings (English): the same keys as zh/teaching.ts.
import type zh from '../zh/teaching'

const en: typeof zh = {
  menu: {},
}
export default en
