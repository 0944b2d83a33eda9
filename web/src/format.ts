// How dates and times read in the console (the platform's users are in China: Asia/Shanghai).
const zone = 'Asia/Shanghai'

export function dateTime(value?: string | null): string {
  if (!value) return ''
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString('zh-CN', { timeZone: zone, hour12: false })
}

export function dateOnly(value?: string | null): string {
  if (!value) return ''
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? value : date.toLocaleDateString('zh-CN', { timeZone: zone })
}
