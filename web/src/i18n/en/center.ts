// The center pages' strings (English): the same keys as zh/center.ts.
import type zh from '../zh/center'

const en: typeof zh = {
  menu: {},
}
export default en
